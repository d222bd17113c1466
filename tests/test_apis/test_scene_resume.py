"""Scene engine: resume after an interruption (byte-identical output), the writer thread, fast (bf16) mode."""
import json
import os
import warnings

import numpy as np
import pytest
import torch

rasterio = pytest.importorskip('rasterio')
pytest.importorskip('mmseg.models')

from test_scene_inferencer import (NUM_CLASSES, OVERLAP, WINDOW, build_tiny_model, make_image,  # noqa: E402
                                   write_geotiff)

from rsseg_ext.apis.scene import SceneInferencer, cpu_has_native_bf16, partial_paths, probs_path_for  # noqa: E402
from rsseg_ext.apis.scene.writer import SceneWriter  # noqa: E402
from rsseg_ext.utils.fileio import OutputWriteError  # noqa: E402

H, W = 700, 600  # three 256-row output blocks; 7 x 6 windows of 128 with stride 96


class Interrupt(Exception):
    pass


@pytest.fixture(scope='module')
def model():
    return build_tiny_model()


@pytest.fixture(scope='module')
def big_scene(tmp_path_factory):
    img = make_image(H, W, seed=2)
    img[:, 400:460, 50:200] = 0  # some nodata
    path = str(tmp_path_factory.mktemp('resume') / 'scene.tif')
    write_geotiff(path, img)
    return path


@pytest.fixture(scope='module')
def reference(model, big_scene, tmp_path_factory):
    """An uninterrupted run (labels + probabilities)."""
    out = str(tmp_path_factory.mktemp('ref') / 'ref.tif')
    SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
        big_scene, out, probs=True)
    return out


def read_bytes(p):
    with open(p, 'rb') as f:
        return f.read()


def interrupt_after(model, n_windows):
    """A forward hook on the backbone that raises after ``n_windows`` windows."""
    state = dict(seen=0)

    def hook(mod, args, out):
        state['seen'] += args[0].shape[0]
        if state['seen'] > n_windows:
            raise Interrupt(f'stop after {n_windows} windows')

    return model.backbone.register_forward_hook(hook)


def run(model, scene, out, **kw):
    opts = dict(resume=kw.pop('resume', False), probs=kw.pop('probs', True), force=kw.pop('force', False))
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False, **kw)
    return inf, inf.infer_file(scene, out, **opts)


def interrupted_run(model, scene, out, n_windows=30, **kw):
    handle = interrupt_after(model, n_windows)
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False, **kw)
    try:
        with pytest.raises(Interrupt):
            inf.infer_file(scene, out, probs=True)
    finally:
        handle.remove()
    return inf


def test_resume_is_byte_identical(model, big_scene, reference, tmp_path):
    out = str(tmp_path / 'pred.tif')
    tmp_out, tmp_probs, sidecar = partial_paths(out)
    inf = interrupted_run(model, big_scene, out, n_windows=30)  # 5 of 7 grid rows -> rows up to 384 released
    assert not os.path.exists(out) and os.path.exists(tmp_out) and os.path.exists(tmp_probs)
    with open(sidecar) as f:
        state = json.load(f)
    assert state['rows_done'] == inf.rows_done == 256
    assert state['settings']['input']['path'] == os.path.abspath(big_scene)
    assert state['settings']['window'] == WINDOW and state['settings']['overlap'] == OVERLAP
    assert state['sizes']['labels'] <= os.path.getsize(tmp_out)
    # a crash in the middle of a block leaves bytes after the checkpoint: resume cuts them off
    with open(tmp_out, 'ab') as f:
        f.write(os.urandom(1000))
    inf2, res = run(model, big_scene, out, resume=True)
    assert res['resumed_from'] == 256
    # windows of grid rows whose windows end after row 256 (y1 = 192, 288, ...): 5 rows of 6
    assert res['windows'] == 5 * 6
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))
    assert sorted(os.listdir(tmp_path)) == ['pred.tif', 'pred_probs.tif']  # temp + sidecar gone


def test_resume_twice_and_without_resume(model, big_scene, reference, tmp_path):
    out = str(tmp_path / 'pred.tif')
    interrupted_run(model, big_scene, out, n_windows=4)  # before the first block: rows_done 0
    with open(partial_paths(out)[2]) as f:
        assert json.load(f)['rows_done'] == 0
    inf = interrupted_run(model, big_scene, out, n_windows=34)  # without resume: replaced, starts again
    assert inf.resumed_from == 0 and inf.rows_done == 256
    handle = interrupt_after(model, 26)  # resume, interrupted again after the second block
    try:
        with pytest.raises(Interrupt):
            run(model, big_scene, out, resume=True)
    finally:
        handle.remove()
    with open(partial_paths(out)[2]) as f:
        assert json.load(f)['rows_done'] == 512
    _, res = run(model, big_scene, out, resume=True)
    assert res['resumed_from'] == 512
    assert read_bytes(out) == read_bytes(reference)
    # resume with nothing to resume: a warning, then a full run
    with pytest.warns(UserWarning, match='no unfinished run'):
        _, res = run(model, big_scene, str(tmp_path / 'other.tif'), resume=True)
    assert res['resumed_from'] == 0 and read_bytes(str(tmp_path / 'other.tif')) == read_bytes(reference)
    # an existing final output still needs force, resume or not
    with pytest.raises(FileExistsError, match='force'):
        run(model, big_scene, out, resume=True)


def test_resume_refuses_other_settings_or_input(model, big_scene, tmp_path):
    out = str(tmp_path / 'pred.tif')
    interrupted_run(model, big_scene, out, n_windows=30)
    with pytest.raises(ValueError, match=r'other settings.*overlap: 32 then, 16 now.*without --resume'):
        SceneInferencer(model, window=WINDOW, overlap=16, progress=False).infer_file(
            big_scene, out, probs=True, resume=True)
    with pytest.raises(ValueError, match=r"blend: 'gaussian' then, 'mean' now"):
        run(model, big_scene, out, resume=True, blend='mean')
    with pytest.raises(ValueError, match=r'probs: True then, False now'):
        run(model, big_scene, out, resume=True, probs=False)
    ckpt = tmp_path / 'w.pth'
    ckpt.write_bytes(b'12345')
    with pytest.raises(ValueError, match=r'checkpoint.path: None then'):
        run(model, big_scene, out, resume=True, checkpoint=str(ckpt))
    # the input changed since the run started
    st = os.stat(big_scene)
    os.utime(big_scene, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    try:
        with pytest.raises(ValueError, match=r'input.mtime_ns'):
            run(model, big_scene, out, resume=True)
    finally:
        os.utime(big_scene, ns=(st.st_atime_ns, st.st_mtime_ns))
    # a damaged sidecar
    sidecar = partial_paths(out)[2]
    with open(sidecar, 'w') as f:
        f.write('{"version": 1, "sett')
    with pytest.raises(ValueError, match='unreadable'):
        run(model, big_scene, out, resume=True)
    # the leftovers are still there for the user to decide
    assert os.path.exists(partial_paths(out)[0])


def test_writer_thread_errors_propagate(model, big_scene, tmp_path, monkeypatch):
    out = str(tmp_path / 'pred.tif')
    calls = dict(n=0)
    orig = SceneWriter._write_block

    def failing(self, n):
        calls['n'] += 1
        if calls['n'] == 2:
            raise OSError(28, 'No space left on device')
        return orig(self, n)

    monkeypatch.setattr(SceneWriter, '_write_block', failing)
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False)
    with pytest.raises(OutputWriteError, match=r'pred\.tif: disk full.*--resume.*from row 256'):
        inf.infer_file(big_scene, out, probs=True)
    assert not os.path.exists(out) and os.path.exists(partial_paths(out)[2])
    # any other error in the writer thread reaches the caller as it is
    monkeypatch.setattr(SceneWriter, '_write_block', lambda self, n: (_ for _ in ()).throw(RuntimeError('boom')))
    with pytest.raises(RuntimeError, match='boom'):
        inf.infer_file(big_scene, out, probs=True)
    # a failure before anything resumable exists leaves nothing behind
    monkeypatch.setattr(SceneWriter, 'checkpoint', lambda self: (_ for _ in ()).throw(RuntimeError('early')))
    out2 = str(tmp_path / 'p2.tif')
    with pytest.raises(RuntimeError, match='early'):
        inf.infer_file(big_scene, out2)
    assert not any(n.startswith('.p2.tif') for n in os.listdir(tmp_path))


def test_writer_owns_its_progress(model, big_scene, reference, tmp_path, monkeypatch):
    """The writer records its blocks in its own state: the sidecar dict the inferencer hands over stays as it was
    (rows 0, no block CRCs) while the finished files still equal the reference."""
    from rsseg_ext.apis.scene import inferencer as scene_inferencer
    handed = []

    def spy(*args, **kwargs):
        handed.append(orig(*args, **kwargs))
        return handed[-1]

    orig = scene_inferencer.new_state
    monkeypatch.setattr(scene_inferencer, 'new_state', spy)
    out = str(tmp_path / 'pred.tif')
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False)
    inf.infer_file(big_scene, out, probs=True)
    assert len(handed) == 1
    assert handed[0]['rows_done'] == 0 and handed[0]['crc'] == dict(labels=[], probs=[])
    assert inf.rows_done == H
    assert read_bytes(out) == read_bytes(reference)


def test_writer_overlaps_compute(model, big_scene, reference, tmp_path, monkeypatch):
    """Rows are written by a thread other than the caller's, and the files still equal the reference."""
    import threading
    names = set()
    orig = SceneWriter._write_block

    def spy(self, n):
        names.add(threading.current_thread().name)
        return orig(self, n)

    monkeypatch.setattr(SceneWriter, '_write_block', spy)
    out = str(tmp_path / 'pred.tif')
    run(model, big_scene, out)
    assert names == {'rsseg-scene-writer'}
    assert read_bytes(out) == read_bytes(reference)


def write_cli_model(model, folder) -> tuple:
    """``(config, checkpoint)`` files of the tiny model for tools/infer_scene.py (same weights and results)."""
    ckpt = str(folder / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    cfg_path = str(folder / 'tiny_cfg.py')
    with open(cfg_path, 'w') as f:
        f.write(
            "model = dict(type='EncoderDecoder',\n"
            "    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],\n"
            "        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),\n"
            "    backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(3,),\n"
            "        dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=dict(type='BN'),\n"
            "        contract_dilation=True),\n"
            "    decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=8, num_convs=1,\n"
            "        concat_input=False, dropout_ratio=0.0, num_classes=4, norm_cfg=dict(type='BN'),\n"
            "        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),\n"
            "    train_cfg=dict(), test_cfg=dict(mode='whole'))\n")
    return cfg_path, ckpt


def test_cli_resume(model, big_scene, reference, tmp_path, monkeypatch, capsys):
    import importlib.util
    import os.path as osp
    cfg_path, ckpt = write_cli_model(model, tmp_path)
    spec = importlib.util.spec_from_file_location(
        'infer_scene_cli', osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools',
                                    'infer_scene.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli.tif')
    args = [cfg_path, ckpt, big_scene, out, '--window', str(WINDOW), '--overlap', str(OVERLAP), '--batch', '2',
            '--probs', '--device', 'cpu', '--no-progress']
    calls = dict(n=0)
    orig = SceneInferencer.forward_windows

    def ctrl_c(self, inputs):
        calls['n'] += 1
        if calls['n'] > 16:
            raise KeyboardInterrupt
        return orig(self, inputs)

    monkeypatch.setattr(SceneInferencer, 'forward_windows', ctrl_c)
    with pytest.raises(SystemExit, match=r'interrupted after 256 finished rows.*--resume'):
        cli.main(args)
    monkeypatch.setattr(SceneInferencer, 'forward_windows', orig)
    # the checkpoint is part of the settings: another file of another size is refused
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta), pad=[0] * 99),
               other)
    with pytest.raises(SystemExit, match='checkpoint.path'):
        cli.main([cfg_path, other] + args[2:] + ['--resume'])
    cli.main(args + ['--resume'])
    assert 'resumed at row 256' in capsys.readouterr().out
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))


def test_fast_mode_bf16(big_scene):
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip('no bf16 support on this CPU')
    model = build_tiny_model()  # own copy: fast mode converts the model to channels_last
    img = make_image(200, 260, seed=4)
    exact = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', progress=False).infer_array(img)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # "no native bf16" on CPUs without avx512_bf16
        fast = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', precision='bf16',
                               progress=False)
    assert fast.channels_last
    conv = model.backbone.stem[0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    seen = {}
    handle = conv.register_forward_pre_hook(
        lambda m, a: seen.update(cl=a[0].is_contiguous(memory_format=torch.channels_last),
                                 amp=torch.is_autocast_enabled('cpu')))
    try:
        bf = fast.infer_array(img)
    finally:
        handle.remove()
    assert seen == dict(cl=True, amp=True)
    assert bf.dtype == torch.float32 and bf.shape == exact.shape == (NUM_CLASSES, 200, 260)
    diff = (bf - exact).abs().max().item()
    agree = (bf.argmax(0) == exact.argmax(0)).float().mean().item()
    assert 0 < diff < 0.5  # close, never equal
    assert agree > 0.95
    if cpu_has_native_bf16() is False:
        with pytest.warns(UserWarning, match='SLOWER'):
            SceneInferencer(model, window=WINDOW, overlap=OVERLAP, precision='bf16', progress=False)
    np.testing.assert_array_equal(exact.numpy(), SceneInferencer(
        build_tiny_model(), window=WINDOW, overlap=OVERLAP, blend='mean', progress=False).infer_array(img).numpy())
