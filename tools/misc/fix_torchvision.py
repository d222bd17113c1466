"""Make ``import torchvision`` work on a CPU-only torch.

The registry's torchvision 0.28.0 is a CUDA build. On the CPU torch its compiled ops do not load, yet
``torchvision/_meta_registrations.py`` registers fake kernels for ``nms``/``qnms`` unconditionally, so the
import raises ``RuntimeError: operator torchvision::nms does not exist``. Guarding those two registrations
with ``torchvision.extension._has_ops()`` (as the file already does for every other op) fixes the import.

Idempotent, and a no-op where the import already works (e.g. on a CUDA machine).
Usage: python tools/misc/fix_torchvision.py
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

GUARD = '_rsseg_ext_guard'
TARGETS = ('@torch.library.register_fake("torchvision::nms")',
           '@torch.library.register_fake("torchvision::qnms")')


def import_ok() -> bool:
    return subprocess.run([sys.executable, '-c', 'import torchvision'],
                          capture_output=True).returncode == 0


def main() -> int:
    if import_ok():
        print('[fix_torchvision] import torchvision works: nothing to do')
        return 0
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        print('[fix_torchvision] torchvision is not installed', file=sys.stderr)
        return 1
    path = os.path.join(list(spec.submodule_search_locations)[0], '_meta_registrations.py')
    with open(path, encoding='utf-8') as f:
        src = f.read()
    if GUARD not in src:
        missing = [t for t in TARGETS if t not in src]
        if missing:
            print(f'[fix_torchvision] {path} does not have the expected lines {missing}; '
                  'this torchvision version needs a different fix', file=sys.stderr)
            return 1
        helper = (f'\n\ndef {GUARD}(op_name):\n'
                  '    # rsseg_ext: register the fake kernel only where the compiled op exists\n'
                  '    if torchvision.extension._has_ops():\n'
                  '        return torch.library.register_fake(op_name)\n'
                  '    return lambda fn: fn\n')
        # the helper goes right after the imports so the decorators below can use it
        anchor = 'import torchvision.extension  # noqa: F401\n'
        if anchor not in src:
            print(f'[fix_torchvision] unexpected layout of {path}', file=sys.stderr)
            return 1
        src = src.replace(anchor, anchor + helper, 1)
        for t in TARGETS:
            op = t[len('@torch.library.register_fake('):-1]
            src = src.replace(t, f'@{GUARD}({op})', 1)
        # atomic rewrite: a crash here must not leave torchvision half-edited
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix='.tmp')
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(src)
        os.replace(tmp, path)
        for d in ('__pycache__',):
            pyc_dir = os.path.join(os.path.dirname(path), d)
            for name in os.listdir(pyc_dir) if os.path.isdir(pyc_dir) else []:
                if name.startswith('_meta_registrations.'):
                    os.remove(os.path.join(pyc_dir, name))
    if not import_ok():
        err = subprocess.run([sys.executable, '-c', 'import torchvision'],
                             capture_output=True, text=True).stderr
        print(f'[fix_torchvision] patched {path} but the import still fails:\n{err}', file=sys.stderr)
        return 1
    print(f'[fix_torchvision] patched {path}: import torchvision works')
    return 0


if __name__ == '__main__':
    sys.exit(main())
