"""Read config text that came from a file someone else made, without running it.

mmengine stores the training config as Python source in a checkpoint's ``meta['cfg']``;
``Config.fromstring(text, '.py')`` would *execute* that text, so a checkpoint that loads safely with
``weights_only=True`` could still run code through it. :func:`config_from_text` accepts only what mmengine's
``pretty_text`` writes: assignments ``name = <literal>``, where a literal is a constant, a list/tuple/set/dict of
literals, ``dict(key=<literal>, ...)`` or a signed number. Anything else (a call, an import, an attribute, a
comprehension, a name) is refused with the line number, before anything is evaluated.
"""
import ast
from typing import Any

_SAFE_NAMES = {'inf': float('inf'), 'nan': float('nan')}  # repr() of non-finite floats in pretty_text


class UnsafeConfigText(ValueError):
    """The config text holds something other than literal assignments."""


def _literal(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e, text) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**other}
            raise UnsafeConfigText(f'line {node.lineno}: dict unpacking is not a literal')
        return {_literal(k, text): _literal(v, text) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict'
            and not node.args and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value, text) for k in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, text)
        if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _SAFE_NAMES:
        return _SAFE_NAMES[node.id]
    source = ast.get_source_segment(text, node) or ''
    raise UnsafeConfigText(f'line {getattr(node, "lineno", "?")}: {type(node).__name__} is not a literal '
                           f'({source[:60]})')


def literal_assignments(text: str) -> dict:
    """``{name: value}`` of a config text made only of literal assignments; raises :class:`UnsafeConfigText`."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise UnsafeConfigText(f'line {e.lineno}: not valid Python ({e.msg})') from None
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            out[stmt.targets[0].id] = _literal(stmt.value, text)
        else:
            raise UnsafeConfigText(f'line {stmt.lineno}: only "name = literal" lines are read, '
                                   f'found {type(stmt).__name__}')
    return out


def config_from_text(text: str):
    """An mmengine ``Config`` from literal-only config text (see the module docstring)."""
    from mmengine.config import Config
    return Config(literal_assignments(text))
