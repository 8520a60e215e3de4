"""The two catalogues every bank is checked against: exam objectives and book section anchors.

`quizzes/objectives.yml` says which objective ids exist, which exam section (MD/OPS/DEP) each
belongs to and how heavily each section weighs in the exam; `book/sections.yml` says which
`section` anchors a question may send a learner back to. A bank directory may carry its own
copies (an instructor's private bank, the test fixtures); otherwise the checkout's are used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.errors import LakeprepError
from lakeprep.quiz import paths, yamlsafe


@dataclass(frozen=True)
class Objective:
    id: str
    section: str
    title: str
    retired: bool = False


@dataclass(frozen=True)
class BookSection:
    id: str
    chapter: int
    title: str
    file: str


@dataclass
class Catalog:
    """Objectives, exam sections with weights, exam defaults and book anchors."""

    objectives: dict[str, Objective]
    section_titles: dict[str, str]  # MD -> Model Development, in file order
    weights: dict[str, float]
    exam_id: str = "ml-professional"
    exam_questions: int = 59
    exam_minutes: int = 120
    pass_threshold: float = 0.70
    pass_threshold_note: str = "community-reported"
    book: dict[str, BookSection] = field(default_factory=dict)
    source: str = ""

    def section_of(self, objective_ids) -> str:
        """The exam section a question counts toward: that of its first (primary) objective."""
        for oid in objective_ids:
            objective = self.objectives.get(oid)
            if objective is not None:
                return objective.section
        return "?"

    def anchor_title(self, anchor: str) -> str:
        entry = self.book.get(anchor)
        return entry.title if entry else anchor

    def anchor_link(self, anchor: str) -> str:
        """Where the learner reads up: `book/ch02.md#ch02-point-in-time`."""
        entry = self.book.get(anchor)
        if entry is None:
            return anchor
        return f"{entry.file}.md#{anchor}"


def _read(path: Path) -> object:
    try:
        return yamlsafe.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LakeprepError(f"{path} is missing: restore it from git (`git checkout -- {path}`)") from None
    except (UnicodeDecodeError, yamlsafe.YamlSyntaxError) as exc:
        raise LakeprepError(f"{path} cannot be read ({exc}): fix the file and retry") from None


def load_objectives(path: Path) -> Catalog:
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("objectives"), dict):
        raise LakeprepError(f"{path} has no `objectives:` mapping: see quizzes/README.md for its format")
    sections = data.get("sections") or {}
    titles = {str(k): str((v or {}).get("title", k)) for k, v in sections.items()}
    weights = {str(k): float((v or {}).get("weight", 0)) for k, v in sections.items()}
    objectives = {}
    for oid, spec in data["objectives"].items():
        spec = spec or {}
        objectives[str(oid)] = Objective(
            id=str(oid),
            section=str(spec.get("section", str(oid).split(".")[0])),
            title=str(spec.get("title", "")),
            retired=bool(spec.get("retired", False)),
        )
    exam = data.get("exam") or {}
    return Catalog(
        objectives=objectives,
        section_titles=titles,
        weights=weights,
        exam_id=str(exam.get("id", "ml-professional")),
        exam_questions=int(exam.get("questions", 59)),
        exam_minutes=int(exam.get("minutes", 120)),
        pass_threshold=float(exam.get("pass_threshold", 0.70)),
        pass_threshold_note=str(exam.get("pass_threshold_note", "community-reported")),
        source=str(path),
    )


def load_sections(path: Path) -> dict[str, BookSection]:
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), dict):
        raise LakeprepError(f"{path} has no `chapters:` mapping: see book/sections.yml's header")
    anchors: dict[str, BookSection] = {}
    for number, chapter in data["chapters"].items():
        chapter = chapter or {}
        for anchor, title in (chapter.get("sections") or {}).items():
            anchors[str(anchor)] = BookSection(
                id=str(anchor), chapter=int(number), title=str(title), file=str(chapter.get("file", ""))
            )
    return anchors


def load_catalog(bank_dir: Path | None = None) -> Catalog:
    """The catalogue for a bank directory: its own objectives.yml/sections.yml, else the checkout's."""
    objectives_file = paths.default_bank_dir() / "objectives.yml"
    sections_file = paths.default_sections_file()
    if bank_dir is not None:
        if (bank_dir / "objectives.yml").is_file():
            objectives_file = bank_dir / "objectives.yml"
        if (bank_dir / "sections.yml").is_file():
            sections_file = bank_dir / "sections.yml"
    catalog = load_objectives(objectives_file)
    catalog.book = load_sections(sections_file)
    return catalog
