"""Our PyTorch Vision Mamba (Vim): model.py (official parameter names), scan.py
(selective scan: chunked / sequential / mamba_ssm), test_model.py (fixture checks),
infer.py (logits for a checkpoint and an input, CPU or CUDA)."""
