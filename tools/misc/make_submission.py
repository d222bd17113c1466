"""Package test-set predictions for a test server.

    python tools/test.py CONFIG CKPT --out preds/          # RSSegMetric writes 0-based label PNGs
    python tools/misc/make_submission.py loveda preds/ loveda_submission.zip
    python tools/misc/make_submission.py uavid preds/ uavid_submission.zip
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from rsseg_ext.evaluation.submission import WRITERS  # noqa: E402
from rsseg_ext.utils.fileio import OutputWriteError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=sorted(WRITERS))
    parser.add_argument('pred_dir')
    parser.add_argument('out_zip')
    args = parser.parse_args()
    try:
        n = WRITERS[args.dataset](args.pred_dir, args.out_zip)
    except (ValueError, FileNotFoundError, OutputWriteError) as e:
        sys.exit(f'make_submission: {e}')
    print(f'{args.out_zip}: {n} predictions, ready to upload')


if __name__ == '__main__':
    main()
