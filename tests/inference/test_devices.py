import pytest
import torch

from inference.devices import autocast, cpu_has_bf16, resolve_device


def test_auto_takes_a_gpu_only_when_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="sees no GPU"):
        resolve_device("cuda")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    for device in ("", "gpu", "cuda:x", "cudax"):   # before: "" meant auto, the others a RuntimeError of torch's
        with pytest.raises(ValueError, match=f"unknown device '{device}'"):
            resolve_device(device)
    for device in (0, 1):   # before: 0 meant auto, 1 an AttributeError
        with pytest.raises(ValueError, match=f"device {device} is not a string"):
            resolve_device(device)


def test_a_torch_device_of_the_cpu_with_an_index_is_the_cpu():
    assert resolve_device(torch.device("cpu", 0)) == torch.device("cpu")   # its string, "cpu:0", names no device


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_torch_device_of_a_missing_gpu_is_the_same_clear_error():
    with pytest.raises(ValueError, match="sees no GPU"):   # before: torch's AssertionError
        resolve_device(torch.device("cuda"))


def test_cpu_runs_in_fp32():
    with autocast(torch.device("cpu")):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_bf16_on_the_cpu_is_there_to_ask_for():
    with autocast(torch.device("cpu"), "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        autocast(torch.device("cpu"), "fp16")


def test_without_torch_cpu_feature_probes_bf16_is_not_assumed(monkeypatch):
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, probe, raising=False)
    assert cpu_has_bf16() is False


def test_a_gpu_index_beyond_those_present_is_a_clear_error(monkeypatch):
    """Before: cuda:5 on a one-GPU machine passed, and torch failed later, once the weights had loaded."""
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"'cuda:5' was asked for, but torch sees 1 GPU\(s\): cuda:0 to cuda:0"):
        resolve_device("cuda:5")
    monkeypatch.setenv("LOCAL_RANK", "1")   # torchrun's second process on a machine of one GPU
    with pytest.raises(ValueError, match=r"'cuda:1' \(cuda at LOCAL_RANK 1\) was asked for, but torch sees 1 GPU"):
        resolve_device("cuda")
