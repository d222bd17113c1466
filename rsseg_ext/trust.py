"""Trust your own full checkpoints once, for every tool (ours and mmseg's)::

    python -m rsseg_ext.trust work_dirs/my_run/iter_80000.pth [more.pth ...]
    python -m rsseg_ext.trust --check FILE ...     # say whether and why each file is trusted
    python -m rsseg_ext.trust --revoke FILE ...    # forget a file trusted this way

A full mmengine checkpoint must be unpickled to load, and unpickling runs code from the file. This command signs
a record of each file's current content with your personal key (see :mod:`rsseg_ext.engine.trust`), so that
``load_from``, ``--resume``, mmseg's ``tools/test.py`` and ``init_model`` load it from then on, wherever it is
moved. A changed file is no longer trusted. Exit code 1 when a ``--check``ed file is not trusted or a file is
missing.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from .engine.trust import (add_to_store, file_sha256, realkey, remove_from_store, store_path, trusted_content,
                           trusted_without_hash)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog='python -m rsseg_ext.trust', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('files', nargs='+', help='checkpoint files')
    mode = p.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true', help='only report whether each file is trusted')
    mode.add_argument('--revoke', action='store_true', help='remove the records this command made for the files')
    args = p.parse_args(argv)
    rc = 0
    for name in args.files:
        path = realkey(name)
        if not osp.isfile(path):
            print(f'{name}: no such file', file=sys.stderr)
            rc = 1
            continue
        if args.check:
            why = trusted_without_hash(path) or trusted_content(path, file_sha256(path), osp.getsize(path))
            print(f'{name}: ' + (f'trusted ({why})' if why else 'NOT trusted'))
            rc |= why is None
        elif args.revoke:
            print(f'{name}: ' + ('revoked' if remove_from_store(path) else 'was not trusted with this command'))
        else:
            add_to_store(path)
            print(f'{name}: trusted (record signed into {store_path()})')
    return rc


if __name__ == '__main__':
    sys.exit(main())
