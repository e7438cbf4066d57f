"""MkDocs hook: the model cards of the shipped models become pages of the site when it is built.

Each card lives in one place, next to its weights: ``src/imukin/pretrained/<name>/MODEL_CARD.md``.
At build time this hook

* adds every card as the page ``models/<name>.md`` (:func:`on_files`),
* lists those pages under the "Pretrained models" section of the navigation (:func:`on_config`),
* replaces the marker ``<!-- model-cards -->`` on a page with a table of the cards
  (:func:`on_page_markdown`).

Enabled by ``hooks: [docs/hooks.py]`` in ``mkdocs.yml``.
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

NAV_TITLE = "Pretrained models"  # navigation section that receives the card pages
MARKER = "<!-- model-cards -->"  # replaced by the table of cards
PRETRAINED = Path("src") / "imukin" / "pretrained"  # relative to the folder of mkdocs.yml
_RMSE = re.compile(r"Validation RMSE[^*]*\(deg\)\*\*:\s*flexion ([\d.]+), adduction ([\d.]+), rotation ([\d.]+)")
_MODEL = re.compile(r"\*\*Model\*\*:\s*`(\w+)`")


def model_cards(config) -> dict[str, Path]:
    """``{model folder name: path of its MODEL_CARD.md}``, sorted by name."""
    root = Path(config.config_file_path).parent / PRETRAINED
    return {p.parent.name: p for p in sorted(root.glob("*/MODEL_CARD.md"))}


def on_config(config):
    """Append one navigation entry per card to the "Pretrained models" section."""
    cards = model_cards(config)
    for entry in config.nav or []:
        if isinstance(entry, dict) and NAV_TITLE in entry:
            section = entry[NAV_TITLE]
            if not isinstance(section, list):
                section = entry[NAV_TITLE] = [section]
            present = [e for e in section if isinstance(e, dict)]
            section.extend(e for e in ({name: f"models/{name}.md"} for name in cards) if e not in present)
    return config


def on_files(files, config):
    """Add every card as a generated page ``models/<name>.md``."""
    for name, path in model_cards(config).items():
        files.append(File.generated(config, f"models/{name}.md", content=path.read_text(encoding="utf-8")))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace :data:`MARKER` with a table of the cards (activity, joint, model, validation RMSE)."""
    if MARKER not in markdown:
        return markdown
    rows = ["| model | activity | joint | architecture | validation RMSE flexion / adduction / rotation (deg) |",
            "|---|---|---|---|---|"]
    for name, path in model_cards(config).items():
        text = path.read_text(encoding="utf-8")
        activity, joint, _ = (name.split("_", 2) + ["", ""])[:3]
        arch = _MODEL.search(text)
        rmse = _RMSE.search(text)
        cells = " / ".join(rmse.groups()) if rmse else "see the card"
        kind = arch.group(1) if arch else ""
        rows.append(f"| [{name}](models/{name}.md) | {activity} | {joint} | {kind} | {cells} |")
    return markdown.replace(MARKER, "\n".join(rows))
