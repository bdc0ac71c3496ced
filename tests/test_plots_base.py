import csv

from gradlab.plots import new_figure, save, write_columns


def test_save_png_and_columns(tmp_path):
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    png = save(fig, tmp_path / "a.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path = write_columns(tmp_path / "a.csv", {"z": [0.0, 0.1], "value": [1.0, 0.9]})
    rows = list(csv.DictReader(path.open()))
    assert rows == [{"z": "0.0", "value": "1.0"}, {"z": "0.1", "value": "0.9"}]
