"""`python -m inference`: no command line of its own, and says which one predicts."""
import subprocess
import sys

from conftest import REPO


def test_python_m_inference_points_to_newsmodel_predict():
    """Before: "No module named inference.__main__; 'inference' is a package and cannot be directly
    executed", which says nothing of `newsmodel predict`."""
    ran = subprocess.run([sys.executable, "-m", "inference", "Talks in Geneva."], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert ran.returncode == 2 and not ran.stdout
    assert "`newsmodel predict`" in ran.stderr and "`python -m training predict`" in ran.stderr
    assert "python -m inference" in (REPO / "README.md").read_text(encoding="utf-8")
