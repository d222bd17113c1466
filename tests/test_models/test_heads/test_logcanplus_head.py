"""LOGCANPlusHead (docs/methods/scsm.md): shapes, the affine window sampling, losses."""
import pytest
import torch
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)
NORM = dict(type='BN', requires_grad=True)


def _head(**kw):
    cfg = dict(type='LOGCANPlusHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3], channels=32, num_heads=4,
               num_classes=5, norm_cfg=NORM)
    cfg.update(kw)
    return MODELS.build(cfg)


def _inputs(h, w):
    return [torch.randn(2, 8 * 2**i, max(h // 2**i, 1), max(w // 2**i, 1)) for i in range(4)]


@pytest.mark.parametrize('hw', [(32, 32), (30, 46), (9, 13)])
def test_shapes(hw):
    head = _head()
    main, pre = head(_inputs(*hw))
    assert main.shape == (2, 5, *hw)
    assert pre.shape == (2, 5, max(hw[0] // 8, 1), max(hw[1] // 8, 1))
    (main.sum() + pre.sum()).backward()
    assert head.lcas[0].sampling_offsets[1].weight.grad is not None
    head.eval()
    metas = [dict(img_shape=(4 * hw[0], 4 * hw[1]), ori_shape=(4 * hw[0], 4 * hw[1]))] * 2
    assert head.predict(_inputs(*hw), metas, dict()).shape == (2, 5, 4 * hw[0], 4 * hw[1])


def test_untransformed_windows_sample_the_map_itself():
    """Zero offset / scale (their init) and zero angle: the sampling grid is the pixel grid, so grid_sample
    returns the map unchanged and the local centres are plain per-window sums."""
    lca = _head().lcas[0]
    torch.nn.init.zeros_(lca.sampling_angles[1].weight)
    torch.nn.init.zeros_(lca.sampling_angles[1].bias)
    pooled = torch.randn(2, 32, 4, 4)
    grid = lca._sampling_grid(pooled, 16, 20)
    src = torch.randn(2 * lca.num_heads, 3, 16, 20)
    out = torch.nn.functional.grid_sample(src, grid, align_corners=True)
    assert torch.allclose(out, src, atol=1e-5)


def test_losses():
    head = _head()
    samples = []
    for _ in range(2):
        s = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 5, (1, 128, 128))))
        s.set_metainfo(dict(img_shape=(128, 128)))
        samples.append(s)
    losses = head.loss(_inputs(32, 32), samples, dict())
    assert {'loss_ce', 'acc_seg', 'pre.loss_ce', 'pre.acc_seg'} <= set(losses)
    assert head.pre_loss_decode[0].loss_weight == 0.8


def test_validation():
    with pytest.raises(ValueError, match='multiple_select'):
        _head(in_channels=64, in_index=3, input_transform=None)
