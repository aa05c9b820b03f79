"""Diagram code runs compiled restricted, in a separate process with time and memory limits."""

from __future__ import annotations

import datetime
import time

import pytest

from engine.sandbox import SandboxFailure, ScriptPool, check_code


@pytest.fixture(scope="module")
def pool():
    p = ScriptPool(size=1, timeout=1.0, memory_mb=256)
    yield p
    p.close()


def test_expressions_and_scripts_see_task_data(pool) -> None:
    assert pool.evaluate("eta >= 18 and grado == 'lavoro_nero'", {"eta": 30, "grado": "lavoro_nero"}) is True
    result = pool.execute("totale = sum(x['ore'] for x in voci)\ndel tmp", {"voci": [{"ore": 2}, {"ore": 3}], "tmp": 1})
    assert result == {"voci": [{"ore": 2}, {"ore": 3}], "totale": 5}
    assert pool.evaluate("data + timedelta(days=1)", {"data": datetime.date(2026, 1, 31)}) == datetime.date(2026, 2, 1)
    # Helpers are builtins: a form field named like one of them simply shadows it.
    assert pool.evaluate("date", {"date": "2026-01-01"}) == "2026-01-01"


COMPILE_TIME = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "(lambda: 0).__globals__",
    "x.__dict__",
    "x._secret",
    "import os",
    "from subprocess import run",
    "eval('1+1')",
    "exec('a = 1')",
    "class Escape: pass",
    "global y",
]


@pytest.mark.parametrize("code", COMPILE_TIME)
def test_hostile_code_is_refused_before_it_runs(pool, code: str) -> None:
    mode = "exec" if code.split()[0] in {"import", "from", "class", "global"} else "eval"
    assert check_code(code, mode), f"accepted: {code}"
    with pytest.raises(SandboxFailure) as err:
        (pool.evaluate if mode == "eval" else pool.execute)(code, {"x": 1})
    assert err.value.kind == "compile"


@pytest.mark.parametrize(
    "code, kind",
    [
        ("open('/etc/passwd').read()", "runtime"),
        ("getattr(x, 'real')", "runtime"),
        ("type(x)", "runtime"),
        ("globals()", "runtime"),
        ("compile('1', 'f', 'eval')", "runtime"),
        ("'{0.__class__}'.format(x)", "runtime"),
        ("'x' * 10**10", "memory"),
        ("[0] * 10**9", "memory"),
        ("list(range(10**9))", "memory"),
    ],
)
def test_hostile_code_fails_cleanly_at_run_time(pool, code: str, kind: str) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.evaluate(code, {"x": 1})
    assert err.value.kind == kind
    assert pool.evaluate("x + 1", {"x": 1}) == 2, "the pool keeps working"


@pytest.mark.parametrize(
    "code", ["while True: pass", "n = 10**10**10", "def f():\n    while True:\n        yield 1\nlist(f())"]
)
def test_runaway_code_is_stopped_by_the_deadline(pool, code: str) -> None:
    started = time.monotonic()
    with pytest.raises(SandboxFailure) as err:
        pool.execute(code, {})
    assert err.value.kind in {"timeout", "memory", "crash"}
    assert time.monotonic() - started < 5
    assert pool.evaluate("1 + 1", {}) == 2, "a fresh child replaced the killed one"


def test_deep_recursion_and_unstorable_values(pool) -> None:
    with pytest.raises(SandboxFailure, match="ricorsione"):
        pool.execute("def f(n):\n    return f(n + 1)\nf(0)", {})
    with pytest.raises(SandboxFailure) as err:
        pool.execute("s = set([1, 2])", {})
    assert err.value.kind == "unstorable" and "'s'" in err.value.message
    with pytest.raises(SandboxFailure) as err:
        pool.evaluate("x", {"x": object()})
    assert err.value.kind == "unstorable"


def test_print_does_not_break_the_protocol(pool) -> None:
    assert pool.execute("print('ciao')\nok = True", {}) == {"ok": True}


def test_errors_carry_the_line(pool) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.execute("a = 1\nb = a / 0", {})
    assert err.value.line == 2 and err.value.message == "divisione per zero"
    assert str(err.value) == "riga 2: `a / 0`: divisione per zero"


def test_date_functions_implemented_in_c_work(pool) -> None:
    assert pool.evaluate("date.today() == datetime.now().date()", {}) is True
    assert pool.evaluate("date(2026, 1, 2).strftime('%d/%m/%Y')", {}) == "02/01/2026"
    assert pool.evaluate("datetime.strptime('2026-01-02', '%Y-%m-%d').day", {}) == 2
    with pytest.raises(SandboxFailure) as err:
        pool.evaluate("__import__('os')", {})
    assert err.value.kind == "compile"


# --------------------------------------------------------------------------- Python's semantics (issue #8)


@pytest.mark.parametrize(
    "code, context, expected",
    [
        ('d = {"k": 5}\nv = d.k', {}, "riga 2: `d.k`: l'oggetto dict non ha l'attributo «k»"),
        ('v = "abc".nope', {}, "riga 1: `\"abc\".nope`: l'oggetto str non ha l'attributo «nope»"),
        (
            "items.sortt()",
            {"items": [2, 1]},
            "riga 1: `items.sortt`: l'oggetto list non ha l'attributo «sortt» (forse «sort»?)",
        ),
        ("v = d['x']", {"d": {}}, "riga 1: `d['x']`: chiave «x» assente"),
        ("v = time.time()", {}, "riga 1: il nome «time» non è definito"),
        ("v = get_env()", {}, "riga 1: il nome «get_env» non è definito"),
        ("def f(p):\n    return p.nome\nv = f({})", {}, "riga 2: `p.nome`: l'oggetto dict non ha l'attributo «nome»"),
        ("v = x.y", {"x": None}, "riga 1: `x.y`: il valore None non ha l'attributo «y»"),
    ],
)
def test_a_missing_name_attribute_or_key_is_an_error_naming_line_and_code(pool, code, context, expected) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.execute(code, context)
    assert err.value.kind == "runtime"
    assert str(err.value).startswith(expected), str(err.value)


def test_a_failing_condition_names_the_expression(pool) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.evaluate("esito.grado == 'grave'", {"esito": {"grado": "grave"}})
    assert str(err.value).startswith("`esito.grado`: l'oggetto dict non ha l'attributo «grado»")
    assert "['grado']" in str(err.value), "the fix for a dict is suggested"


@pytest.mark.parametrize("attribute", ["datetime", "date", "time", "timedelta", "timezone"])
def test_datetime_is_the_class_and_module_style_use_is_refused(pool, attribute: str) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.evaluate(f"datetime.{attribute}", {})
    assert "«datetime» è la classe datetime" in str(err.value) and "non il modulo" in str(err.value)
    # The class itself and its instances behave as in Python.
    assert pool.evaluate("datetime(2026, 1, 2).date()", {}) == datetime.date(2026, 1, 2)
    assert pool.evaluate("datetime.now(timezone.utc).time().hour", {}) in range(24)


def test_the_attribute_guard_keeps_restrictedpythons_protections(pool) -> None:
    with pytest.raises(SandboxFailure, match="format"):
        pool.evaluate("'{0}'.format(x)", {"x": 1})
    with pytest.raises(SandboxFailure, match="format"):
        pool.evaluate("str.format('{0}', x)", {"x": 1})
    assert pool.evaluate("x.get('a', 0) + len('abc'.upper())", {"x": {"a": 1}}) == 4


def test_every_script_global_is_documented() -> None:
    from pathlib import Path

    from engine.sandbox import build_builtins

    guide = (Path(__file__).parents[2] / "docs" / "scripting.md").read_text(encoding="utf-8")
    missing = [name for name in build_builtins() if not name.startswith("_") and f"`{name}`" not in guide]
    assert missing == [], f"names scripts can use but docs/scripting.md does not mention: {missing}"
    assert "`time`" in guide and "time" not in build_builtins()


@pytest.mark.parametrize(
    "code, expected",
    [
        ('x = "a".index("b")', 'riga 1: `"a".index("b")`: il testo cercato non c\'è'),
        ("x = max([])", "riga 1: `max([])`: minimo o massimo di una sequenza vuota"),
        ("x = range()", "nella chiamata della funzione «range»"),
        # Nothing Italian to say: only the type, never the library's English.
        ('x = int("5", 99)', 'riga 1: `int("5", 99)`: operazione non riuscita (errore di tipo ValueError)'),
        # The author's own words are kept.
        ('raise ValueError("importo mancante")', 'riga 1: `raise ValueError("importo mancante")`: importo mancante'),
    ],
)
def test_runtime_errors_are_italian_or_the_authors_own(pool, code: str, expected: str) -> None:
    with pytest.raises(SandboxFailure) as err:
        pool.execute(code, {})
    assert expected in str(err.value)


@pytest.mark.parametrize("code", ["codice_caso = 'HACK'", "del codice_caso", "ambito_caso += 'X'"])
def test_a_step_cannot_change_the_names_the_platform_sets(pool, code: str) -> None:
    """Deploy refuses these; the child refuses them too, whatever reached it."""
    with pytest.raises(SandboxFailure) as err:
        pool.execute(code, {"codice_caso": "MI-1", "ambito_caso": "MILANO"})
    assert "è riservato: lo imposta la piattaforma" in str(err.value)
    assert pool.execute("x = codice_caso", {"codice_caso": "MI-1"}) == {"codice_caso": "MI-1", "x": "MI-1"}
