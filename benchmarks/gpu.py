"""`--device cuda`: the availability check and the peak-throughput table.

The workloads are float32 and torch's default keeps TF32 off for matmuls
(torch.backends.cuda.matmul.allow_tf32 = False), so the fraction of peak is
taken against the GPU's dense FP32 (CUDA-core) peak; the TF32 tensor-core
peak is listed alongside for reference. Figures are the vendors' published
dense numbers (no sparsity) in TFLOP/s.
"""

# substring of torch.cuda.get_device_name() -> (FP32 peak, TF32 tensor-core peak)
PEAK_TFLOPS = [
    ("H200", (67.0, 494.7)),
    ("H100 PCIe", (51.2, 378.0)),
    ("H100 NVL", (60.0, 417.5)),
    ("H100", (67.0, 494.7)),        # SXM5
    ("GH200", (67.0, 494.7)),
    ("A100", (19.5, 156.0)),
    ("A10G", (31.2, 62.5)),
    ("A10", (31.2, 62.5)),
    ("L40S", (91.6, 183.0)),
    ("L40", (90.5, 90.5)),
    ("L4", (30.3, 60.0)),
    ("V100", (15.7, None)),
    ("T4", (8.1, None)),
    ("RTX 4090", (82.6, 82.6)),
    ("RTX 3090", (35.6, 35.6)),
]


def peak_for(name):
    """(FP32, TF32) peak TFLOP/s for a device name, or (None, None)."""
    for key, peaks in PEAK_TFLOPS:
        if key.lower() in name.lower():
            return peaks
    return None, None


def unavailable_reasons():
    """Why `--device cuda` cannot run here: a list of messages, empty when
    both frameworks can use a GPU."""
    reasons = []
    import torch
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        reasons.append(f"torch {torch.__version__} ({build}) sees no CUDA device")
    from tinygrad_dc.backend import DeviceError, get_backend
    try:
        get_backend("cuda")
    except DeviceError as e:
        reasons.append(f"tinygrad_dc: {e}")
    return reasons


def device_name():
    import torch
    return torch.cuda.get_device_name()
