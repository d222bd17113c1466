import subprocess
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import DEMO_CONFIG, REPO_ROOT
from rsseg_ext.utils.complexity import count_flops, count_params


class _Attn(nn.Module):

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_conv_flops_are_macs():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert count_flops(conv, (torch.zeros(1, 3, 16, 16), )) == 16 * 16 * 8 * 3 * 9
    assert count_params(conv) == (8 * 3 * 9, 8 * 3 * 9)


def test_sdpa_is_counted():
    q = torch.zeros(2, 4, 50, 16)   # B, heads, Lq, D
    k = torch.zeros(2, 4, 30, 16)
    v = torch.zeros(2, 4, 30, 8)
    assert count_flops(_Attn(), (q, k, v)) == 2 * 4 * 50 * 30 * (16 + 8)


def test_frozen_params_reported():
    m = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    m[0].requires_grad_(False)
    assert count_params(m) == (20 + 10, 10)


def test_cli_prints_params_and_flops():
    out = subprocess.run([sys.executable, 'tools/analysis/get_complexity.py', DEMO_CONFIG, '--shape', '64', '64',
                          '--part', 'decode_head'], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'params:' in out.stdout and 'FLOPs:' in out.stdout
    # FCNHead on 64x64 at output stride 4: the printed count is the analyzer's, not zero
    gflops = float(out.stdout.split('FLOPs:')[1].split('G')[0])
    assert gflops > 0.01
