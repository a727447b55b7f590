"""Data-parallel training under torchrun: one process per GPU (NCCL) or per CPU share (gloo)."""
from __future__ import annotations

import os

import torch


def join_process_group(device: torch.device) -> tuple[int, int]:
    """(rank, world size); under torchrun, joins the process group first."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return torch.distributed.get_rank(), world


def wrap(model: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    if world == 1:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def gather(tensor: torch.Tensor, device: torch.device, world: int) -> list[torch.Tensor]:
    """`tensor` as every process has it, in rank order, on the CPU (all processes must call it)."""
    if world == 1:
        return [tensor]
    local = tensor.to(device)   # NCCL gathers GPU tensors
    gathered = [torch.empty_like(local) for _ in range(world)]
    torch.distributed.all_gather(gathered, local)
    return [t.cpu() for t in gathered]


def barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def leave(world: int) -> None:
    if world > 1:
        torch.distributed.destroy_process_group()
