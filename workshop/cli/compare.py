"""What `workshop compare` prints (the job is `workshop.report.compare.compare`)."""

from __future__ import annotations

from typing import Any


def show(result: dict[str, Any], **_: Any) -> None:
    """The table as text (each run's figures, its call against the baseline), then the files written."""
    from workshop.report.compare_render import change_text, figure_text

    print(f"{len(result['rows'])} runs against {result['baseline']}; {result['n_comparisons']} p-values "
          f"Holm-adjusted, better/worse at adjusted p < {result['alpha']}; sorted by {result['measures'][result['sorted_by']]}")
    for row in result["rows"]:
        settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
        print(f"{row['name']}{' (baseline)' if row['baseline'] else ''}" + (f"  [{settings}]" if settings else ""))
        for m, cell in row["cells"].items():
            vs = change_text(cell.get("vs_baseline"))
            print(f"  {result['measures'][m]:<22} {figure_text(m, cell):<22} {vs}")
    for path in (result.get("files") or {}).values():
        print(f"wrote {path}")
