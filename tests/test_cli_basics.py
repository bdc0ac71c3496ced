import subprocess
import sys

from gradlab import __version__
from tests.conftest import subprocess_env


def test_version(cli):
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"gradlab {__version__}"


def test_help_shows_purpose_and_examples(cli):
    result = cli("--help")
    assert result.code == 0
    assert "gradient descent" in result.out
    assert "gradlab descend --lr 0.1 --x0 8" in result.out


def test_unknown_command_is_exit_2_one_line(cli):
    result = cli("desend")
    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.text


def test_an_empty_out_is_refused_not_read_as_the_current_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("plot", "sigmoid", "--out", "")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "'--out': an empty path; name a directory (--out . for the current one)" in result.err
    assert list(tmp_path.iterdir()) == []


def test_help_imports_no_heavy_modules():
    code = (
        "import sys\n"
        "from gradlab.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "finally:\n"
        "    heavy = [m for m in ('matplotlib', 'sympy', 'scipy') if m in sys.modules]\n"
        "    print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=subprocess_env())
    assert "HEAVY []" in done.stdout


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradlab", "--version"], capture_output=True, text=True,
                          env=subprocess_env())
    assert done.returncode == 0
    assert done.stdout.startswith("gradlab ")


def test_bare_command_prints_help_and_exits_0(cli):
    result = cli()
    assert result.code == 0
    assert "Commands" in result.out and result.err == ""
