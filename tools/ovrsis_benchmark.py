"""OVRSISBench: zero-shot evaluation of one open-vocabulary model on every benchmark dataset, Table-1 style.

    python tools/ovrsis_benchmark.py MODEL_CONFIG CHECKPOINT [--bench configs/rskt_seg/ovrsisbench_test.py]
        [--datasets potsdam vaihingen] [--work-dir DIR] [--out results.json] [--name RSKT-Seg-B]
        [--trust-checkpoint] [--cfg-options k=v ...]

For every dataset of the benchmark config: the model config with that dataset's "all" split as test set (pipeline
= the model config's ``test_pipeline``), ``model.test_vocabulary`` = the dataset's vocabulary file, the checkpoint
loaded, mmengine's test loop run. Prints the mIoU / mACC of each dataset and their unweighted means (m-mIoU /
m-mACC) as in Table 1 of the RSKT-Seg paper, and writes them as JSON with ``--out``.

The benchmark config (see configs/rskt_seg/ovrsisbench_test.py) defines ``benchmark_datasets`` (names),
``ovrsis_test_sets`` (name -> dataset config), ``ovrsis_vocabularies`` (name -> vocabulary file or list),
optionally ``benchmark_titles`` and ``benchmark_evaluator``.
"""
import argparse
import copy
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from rsseg_ext.engine import teardown_distributed, trust_checkpoint  # noqa: E402
from rsseg_ext.engine.cli import prepare_launch  # noqa: E402
from rsseg_ext.utils.fileio import OutputWriteError, atomic_write_text  # noqa: E402

DEFAULT_BENCH = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'rskt_seg',
                         'ovrsisbench_test.py')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='model (training) config')
    p.add_argument('checkpoint', help='trained checkpoint (.pth)')
    p.add_argument('--bench', default=DEFAULT_BENCH, help='benchmark config (datasets, vocabularies)')
    p.add_argument('--datasets', nargs='+', help='subset of the benchmark datasets (default: all)')
    p.add_argument('--work-dir', default=None, help='default: ./work_dirs/ovrsisbench/<config name>')
    p.add_argument('--out', help='write the results as JSON here')
    p.add_argument('--name', help='row label of the table (default: the config name)')
    p.add_argument('--num-workers', type=int, default=2)
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow unpickling CHECKPOINT although no training run in its folder recorded it')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides of the model config')
    return p.parse_args()


def set_pipeline(dataset_cfg: dict, pipeline: list) -> dict:
    """Replace ``pipeline`` in a dataset config, through ``ConcatDataset``/wrapper nesting."""
    dataset_cfg = copy.deepcopy(dataset_cfg)
    if 'datasets' in dataset_cfg:
        dataset_cfg['datasets'] = [set_pipeline(d, pipeline) for d in dataset_cfg['datasets']]
    elif 'dataset' in dataset_cfg:
        dataset_cfg['dataset'] = set_pipeline(dataset_cfg['dataset'], pipeline)
    else:
        dataset_cfg['pipeline'] = copy.deepcopy(pipeline)
    return dataset_cfg


def evaluate_one(args, bench: Config, name: str, work_dir: str) -> dict:
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = bench.ovrsis_test_sets[name]
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.get('pipeline')
    cfg.test_dataloader = dict(batch_size=1, num_workers=args.num_workers, persistent_workers=False,
                               sampler=dict(type='DefaultSampler', shuffle=False),
                               dataset=set_pipeline(dataset.to_dict() if hasattr(dataset, 'to_dict') else dataset,
                                                    pipeline))
    cfg.test_evaluator = copy.deepcopy(bench.get('benchmark_evaluator', dict(type='RSSegMetric',
                                                                             iou_metrics=['mIoU'])))
    vocabulary = bench.get('ovrsis_vocabularies', {}).get(name)
    if vocabulary is not None:
        cfg.model.test_vocabulary = vocabulary
    cfg.load_from = args.checkpoint
    cfg.work_dir = osp.join(work_dir, name)
    cfg.launcher = 'none'
    prepare_launch(cfg, 'none')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    return {k.split('/')[-1]: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def format_table(row: str, titles: list, results: dict) -> str:
    """Table-1 layout: one row, ``mIoU/mACC`` per dataset, then ``m-mIoU/m-mACC``."""
    cols = [f'{r["mIoU"]:.2f}/{r["mAcc"]:.2f}' for r in results.values()]
    m_iou = sum(r['mIoU'] for r in results.values()) / len(results)
    m_acc = sum(r['mAcc'] for r in results.values()) / len(results)
    head = ['Model'] + titles + ['m-mIoU/m-mACC']
    body = [row] + cols + [f'{m_iou:.2f}/{m_acc:.2f}']
    widths = [max(len(a), len(b)) for a, b in zip(head, body)]
    line = lambda cells: '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'  # noqa: E731
    return '\n'.join([line(head), '|' + '|'.join('-' * (w + 2) for w in widths) + '|', line(body),
                      '(mIoU/mACC in %, zero-shot, whole-image inference)'])


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint {args.checkpoint} does not exist: pass the .pth file of a trained model.')
    if args.trust_checkpoint:
        trust_checkpoint(args.checkpoint)
    bench = Config.fromfile(args.bench)
    names = args.datasets or list(bench.benchmark_datasets)
    unknown = [n for n in names if n not in bench.ovrsis_test_sets]
    if unknown:
        raise KeyError(f'unknown benchmark datasets {unknown}; {args.bench} defines {list(bench.ovrsis_test_sets)}')
    cfg_name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', 'ovrsisbench', cfg_name)
    results = {}
    try:
        for name in names:
            results[name] = evaluate_one(args, bench, name, work_dir)
    finally:
        teardown_distributed()
    titles = [bench.get('benchmark_titles', {}).get(n, n) for n in names]
    table = format_table(args.name or cfg_name, titles, results)
    summary = dict(config=args.config, checkpoint=args.checkpoint, datasets=results,
                   m_mIoU=sum(r['mIoU'] for r in results.values()) / len(results),
                   m_mAcc=sum(r['mAcc'] for r in results.values()) / len(results))
    print('\nOVRSISBench results\n' + table)
    if args.out:
        try:
            atomic_write_text(args.out, json.dumps(summary, indent=2))
        except OutputWriteError as e:
            sys.exit(f'ovrsis_benchmark.py: {e}')


if __name__ == '__main__':
    main()
