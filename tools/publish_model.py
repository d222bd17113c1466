"""Turn a training checkpoint into a publishable one.

    python tools/publish_model.py IN.pth OUT.pth [--config CONFIG] [--trust-checkpoint]

Keeps only ``state_dict`` (tensors) and a plain ``meta`` (config text, class names, palette, versions), so the
file loads with ``torch.load(weights_only=True)``: no pickled objects, no optimizer state. Writes
``OUT-<sha256[:8]>.pth`` (OpenMMLab's naming), and refuses to publish when the checkpoint's keys do not build the
config's model exactly (missing or unexpected keys, shape mismatches).

The config comes from the checkpoint's own ``meta['cfg']`` (written by mmengine during training) unless
``--config`` is given. That text is read as data (literal assignments only, see
:mod:`rsseg_ext.utils.safe_config`), never executed: a checkpoint's config cannot run code here.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from rsseg_ext.engine import (BadCheckpointError, UntrustedCheckpointError,  # noqa: E402
                              load_checkpoint_file, trust_checkpoint)
from rsseg_ext.engine.checkpoint import file_sha256, plain_meta  # noqa: E402
from rsseg_ext.engine.dist_utils import sync_bn_to_bn  # noqa: E402
from rsseg_ext.utils.fileio import OutputWriteError, commit, describe_os_error, temp_path  # noqa: E402
from rsseg_ext.utils.os_errors import os_error_of  # noqa: E402
from rsseg_ext.utils.safe_config import UnsafeConfigText, config_from_text  # noqa: E402


def _config_from(ckpt: dict, config_path: str = None) -> Config:
    if config_path:
        return Config.fromfile(config_path)
    meta = ckpt.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        raise ValueError('the checkpoint has no meta["cfg"] (not written by an mmengine training run): '
                         'pass --config CONFIG')
    try:
        return config_from_text(text)
    except UnsafeConfigText as e:
        raise ValueError(f'its meta["cfg"] is not plain config data ({e}); it is not read as code: pass '
                         '--config CONFIG with the config file the model was trained with') from None


def check_keys(cfg: Config, state_dict: dict) -> None:
    """Build the config's model and load ``state_dict`` strictly; raise ValueError naming what differs."""
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    model_cfg = cfg.model.copy()
    sync_bn_to_bn(model_cfg)  # building SyncBN needs no process group, but keep it CPU-friendly
    model_cfg.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(model_cfg)
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or shapes:
        def few(keys):
            return ', '.join(keys[:5]) + (f' ... (+{len(keys) - 5})' if len(keys) > 5 else '')
        raise ValueError('the checkpoint does not build the config\'s model: '
                         + '; '.join(f'{what}: {few(keys)}' for what, keys in
                                     [('missing keys', missing), ('unexpected keys', unexpected),
                                      ('shape mismatches', shapes)] if keys)
                         + '. Publish with the config it was trained with (--config).')


def publish(in_path: str, out_path: str, config_path: str = None) -> str:
    """Write the published checkpoint; returns its final path ``<out stem>-<sha256[:8]>.pth``."""
    import mmseg
    ckpt = load_checkpoint_file(in_path, map_location='cpu')
    state_dict = ckpt.get('state_dict', ckpt)
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f'{in_path}: state_dict holds non-tensor values')
    # drop wrapper prefixes (DDP "module.") the way mmengine's loader does
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v.detach().cpu().contiguous()
                  for k, v in state_dict.items()}
    cfg = _config_from(ckpt, config_path)
    check_keys(cfg, state_dict)
    meta = ckpt.get('meta', {}) if isinstance(ckpt.get('meta'), dict) else {}
    dataset_meta = meta.get('dataset_meta') or {}
    published = dict(
        state_dict=state_dict,
        meta=plain_meta(dict(
            config=cfg.pretty_text,
            dataset_meta=dict(classes=dataset_meta.get('classes'), palette=dataset_meta.get('palette')),
            iter=meta.get('iter'), epoch=meta.get('epoch'),
            rsseg_ext_version=rsseg_ext.__version__, mmseg_version=mmseg.__version__,
            torch_version=torch.__version__)))
    return _write_published(published, out_path)


def _write_published(published: dict, out_path: str) -> str:
    """Save to a temp file next to ``out_path``, read it back with ``weights_only=True`` (the point of
    publishing; it also catches a file cut short), then rename it to ``<stem>-<sha256[:8]>.pth`` with the
    umask's mode. Any failure removes the temp file; the OS's refusals become one OutputWriteError line."""
    stem = out_path[:-4] if out_path.endswith('.pth') else out_path
    try:
        tmp = temp_path(out_path)
    except OSError as e:
        raise OutputWriteError(describe_os_error(out_path, e)) from e
    try:
        with open(tmp, 'wb') as f:
            torch.save(published, f)
        torch.load(tmp, map_location='cpu', weights_only=True)
        final = f'{stem}-{file_sha256(tmp)[:8]}.pth'
    except BaseException as e:  # noqa: B902
        # torch.save wraps the file's OSError in a RuntimeError; without one, ask the OS (a file cut short by
        # a limit fails to load back)
        found = os_error_of(e, tmp) if isinstance(e, Exception) else None
        os.remove(tmp)
        if found is not None:
            raise OutputWriteError(describe_os_error(out_path, found)) from e
        raise
    commit(tmp, final)
    return final


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('in_file', help='input checkpoint (a training checkpoint or a state_dict file)')
    parser.add_argument('out_file', help='output name; the sha256 prefix is appended')
    parser.add_argument('--config', help='config the model was trained with (default: the checkpoint\'s own)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow unpickling IN even though no training run in its folder recorded it')
    args = parser.parse_args()
    if args.trust_checkpoint:
        trust_checkpoint(args.in_file)
    try:
        final = publish(args.in_file, args.out_file, args.config)
    except ValueError as e:
        sys.exit(f'publish_model: {args.in_file}: {e}')
    except (OutputWriteError, BadCheckpointError, UntrustedCheckpointError) as e:
        sys.exit(f'publish_model: {e}')
    print(f'published {final} (loads with torch.load(weights_only=True))')


if __name__ == '__main__':
    main()
