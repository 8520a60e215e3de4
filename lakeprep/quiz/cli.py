"""The `quiz`, `bank` and `grade` verbs of the `lakeprep` command line.

Only argparse is imported at module level: every handler imports the engine modules it needs when
it runs, so `lakeprep --help` and `lakeprep quiz --help` stay fast. Handlers return an exit code
and raise `LakeprepError` for anything the user can fix (the top-level CLI prints it, exits 2).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(subparsers) -> None:
    """Register `quiz`, `bank` and `grade` with their sub-verbs on the top-level subparsers."""
    _add_quiz(subparsers)
    _add_bank(subparsers)
    _add_grade(subparsers)


# --------------------------------------------------------------------------- parsers


def _bank_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bank", metavar="DIR", type=Path, default=None,
                        help="bank directory (default: quizzes/ of this checkout)")


def _add_quiz(subparsers) -> None:
    quiz = subparsers.add_parser("quiz", help="practise, sit a timed mock exam, review missed questions",
                                 description="Practise by chapter or objective, sit a timed mock exam, "
                                             "and review missed questions with spaced repetition.")
    verbs = quiz.add_subparsers(dest="quiz_command", metavar="VERB")
    verbs.required = True

    practice = verbs.add_parser("practice", help="questions with immediate feedback",
                                description="One question at a time with feedback and the section to reread. "
                                            "Type q to stop. Works with piped stdin.")
    which = practice.add_mutually_exclusive_group()
    which.add_argument("--chapter", type=int, metavar="N", help="only the chapter N bank(s)")
    which.add_argument("--objective", metavar="ID", help="only questions tagged with this objective, e.g. MD.4.1")
    _bank_dir_option(practice)
    practice.add_argument("--limit", type=int, metavar="N", help="ask at most N questions")
    practice.add_argument("--seed", type=int, help="shuffle reproducibly")
    practice.add_argument("--no-shuffle", action="store_true", help="ask in bank order")
    practice.add_argument("--no-review", action="store_true", help="do not add missed questions to the review queue")
    practice.set_defaults(func=_practice)

    exam = verbs.add_parser("exam", help="timed mock exam at the real section weights",
                            description="A timed mock exam drawn from the practice pool at the exam's section "
                                        "weights. No feedback until the end; saved after every answer, so "
                                        "`--resume` carries on after q or an interruption. Answer every item: "
                                        "wrong answers cost nothing.")
    exam.add_argument("--questions", type=int, default=None, metavar="N", help="number of questions (default 59)")
    exam.add_argument("--minutes", type=float, default=None, metavar="M", help="time limit (default 120)")
    exam.add_argument("--seed", type=int, default=None, help="draw a reproducible exam")
    exam.add_argument("--form", type=int, default=1, metavar="K",
                      help="form K of the disjoint forms the seed defines (1 or 2 for two disjoint exams)")
    exam.add_argument("--pass-threshold", type=float, default=None, metavar="F",
                      help="pass mark as a fraction (default 0.70, community-reported)")
    exam.add_argument("--learner", default=None, help="name written on the exam's submission file")
    exam.add_argument("--resume", action="store_true", help="continue the saved exam")
    exam.add_argument("--restart", action="store_true", help="discard a saved exam and start a new one")
    _bank_dir_option(exam)
    exam.set_defaults(func=_exam)

    review = verbs.add_parser("review", help="spaced repetition (SM-2) of missed questions",
                              description="Shows the missed questions due today and reschedules them with SM-2: "
                                          "a wrong answer starts the item over; a right one asks how hard the "
                                          "recall was (3 hard, 4 good, 5 easy).")
    review.add_argument("--list", action="store_true", help="show the queue and due dates, ask nothing")
    review.add_argument("--limit", type=int, metavar="N", help="review at most N due questions")
    review.add_argument("--today", metavar="YYYY-MM-DD", help="review as of this date (default: today)")
    _bank_dir_option(review)
    review.set_defaults(func=_review)


def _add_bank(subparsers) -> None:
    bank = subparsers.add_parser("bank", help="validate, summarise and export question banks",
                                 description="Validate, summarise and export the question banks.")
    verbs = bank.add_subparsers(dest="bank_command", metavar="VERB")
    verbs.required = True

    validate = verbs.add_parser("validate", help="report every problem in banks and rubrics",
                                description="Check banks and rubrics; print every problem with file, line, "
                                            "question id and fix. Exit 1 when there is any.")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                          help="bank/rubric files or directories (default: quizzes/*.yml and quizzes/rubrics/*.yml)")
    validate.set_defaults(func=_validate)

    stats = verbs.add_parser("stats", help="questions per bank, section and objective",
                             description="Counts per bank, exam section and objective, and what the mock exam needs.")
    stats.add_argument("--dir", type=Path, default=None, metavar="DIR", help="bank directory (default: quizzes/)")
    stats.set_defaults(func=_stats)

    export = verbs.add_parser("export", help="export to GIFT (Moodle) or JupyterQuiz JSON",
                              description="Export banks to GIFT for Moodle import or to JupyterQuiz JSON for "
                                          "the book's widgets.")
    export.add_argument("--format", required=True, choices=("gift", "jupyterquiz"))
    export.add_argument("--bank", metavar="ID", help="export only this bank (default: all)")
    export.add_argument("--out", type=Path, metavar="PATH",
                        help="output file, or an existing directory for one file per bank (default: stdout)")
    export.add_argument("--dir", type=Path, default=None, metavar="DIR", help="bank directory (default: quizzes/)")
    export.set_defaults(func=_export)


def _add_grade(subparsers) -> None:
    grade = subparsers.add_parser("grade", help="grade quiz submissions and rubric assessments",
                                  description="Grade a folder of quiz submissions or rubric assessments.")
    verbs = grade.add_subparsers(dest="grade_command", metavar="VERB")
    verbs.required = True

    quizzes = verbs.add_parser("quizzes", help="gradebook, item analysis, feedback and report",
                               description="Write gradebook.csv, item_analysis.csv, feedback/*.md, errors.csv "
                                           "and report.html. Files that cannot be graded go to errors.csv; the "
                                           "rest are graded. Exit 1 when errors.csv has rows.")
    quizzes.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    quizzes.add_argument("--out", type=Path, required=True, metavar="DIR")
    _bank_dir_option(quizzes)
    quizzes.add_argument("--pass-threshold", type=float, default=None, metavar="F",
                         help="pass mark as a fraction (default: objectives.yml, 0.70)")
    quizzes.set_defaults(func=_grade_quizzes)

    rubrics = verbs.add_parser("rubrics", help="weighted rubric scores with pass/fail",
                               description="Write rubric_grades.csv, rubric_scores.csv and errors.csv.")
    rubrics.add_argument("assessments", type=Path, metavar="ASSESSMENTS_DIR")
    rubrics.add_argument("--out", type=Path, required=True, metavar="DIR")
    rubrics.add_argument("--rubrics", type=Path, default=None, metavar="DIR",
                         help="rubric directory (default: quizzes/rubrics/)")
    rubrics.set_defaults(func=_grade_rubrics)


# --------------------------------------------------------------------------- helpers


def _threshold(value: float | None, default: float) -> float:
    from lakeprep.errors import LakeprepError

    if value is None:
        return default
    if not 0 < value <= 1:
        raise LakeprepError(f"--pass-threshold {value:g} is not a fraction: give e.g. 0.7 for 70%")
    return value


def _load(bank_dir: Path | None):
    from lakeprep.quiz.bank import load_bank_dir
    from lakeprep.quiz.catalog import load_catalog

    catalog = load_catalog(bank_dir)
    return catalog, load_bank_dir(bank_dir, catalog)


def _console():
    from lakeprep.quiz.console import Console

    return Console(sys.stdin, sys.stdout)


def _today(text: str | None):
    import datetime as dt

    from lakeprep.errors import LakeprepError

    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LakeprepError(f"--today {text!r} is not a date: use YYYY-MM-DD") from None


# --------------------------------------------------------------------------- handlers


def _practice(args) -> int:
    from lakeprep.quiz import paths, practice, review

    catalog, banks = _load(args.bank)
    store = None if args.no_review else review.open_store(paths.state_dir())
    try:
        return practice.practice(_console(), banks, catalog, args.chapter, args.objective, args.seed,
                                 shuffle=not args.no_shuffle, limit=args.limit, store=store)
    finally:
        if store is not None:
            store.close()


def _exam(args) -> int:
    import datetime as dt
    import os
    import random

    from lakeprep.errors import LakeprepError
    from lakeprep.quiz import exam, paths, review, sampling

    catalog, banks = _load(args.bank)
    console = _console()
    state_dir = paths.state_dir()
    state_path = state_dir / exam.STATE_FILE
    questions = banks.by_id()
    if args.resume:
        state = exam.ExamState.load(state_path)
        gone = [qid for qid in state.question_ids if qid not in questions]
        if gone:
            console.say(f"Note: {len(gone)} question(s) of this exam are no longer in the banks and are dropped: "
                        + ", ".join(gone[:5]))
            answered_before = state.question_ids[:state.position]
            state.question_ids = [q for q in state.question_ids if q in questions]
            state.position = sum(1 for q in answered_before if q in questions)
        console.say(f"Resuming {state.exam_id}: question {state.position + 1} of {len(state.question_ids)}.")
    else:
        if state_path.exists() and not args.restart:
            raise LakeprepError("an unfinished exam is saved: continue it with `lakeprep quiz exam --resume` "
                                "or discard it with `lakeprep quiz exam --restart`")
        n = args.questions if args.questions is not None else catalog.exam_questions
        minutes = args.minutes if args.minutes is not None else catalog.exam_minutes
        if n < 1:
            raise LakeprepError("--questions must be at least 1")
        if minutes <= 0:
            raise LakeprepError("--minutes must be positive")
        threshold = _threshold(args.pass_threshold, catalog.pass_threshold)
        pool = banks.pool
        if not pool:
            raise LakeprepError("the practice pool is empty: the mock exam draws from banks without `chapter` "
                                "(quizzes/practice-*.yml); add some or pass --bank DIR")
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
        drawn = sampling.draw_exam(pool, n, catalog.weights, lambda q: catalog.section_of(q.objectives),
                                   seed=seed, form=args.form)
        state = exam.ExamState(
            exam_id=exam.exam_id_for(catalog, seed, args.form),
            learner=args.learner or os.environ.get("USER") or "learner",
            question_ids=[q.id for q in drawn], minutes=minutes, pass_threshold=threshold,
            seed=seed, form=args.form, started=dt.datetime.now().isoformat(timespec="seconds"),
        )
        state.save(state_path)
        console.say(f"Mock exam {state.exam_id}: {n} questions, {minutes:g} minutes, no feedback until the end.")
        console.say("Answer every item: wrong answers cost nothing, a blank scores zero.")
        console.say("Type q to pause; the exam is saved after every answer (`lakeprep quiz exam --resume`).")
    finished = exam.run_exam(console, state, questions, state_path)
    if not finished:
        return 0
    result = exam.score_exam(state, questions, catalog)
    exam.report_exam(console, state, result, catalog)
    submission = exam.archive_exam(state, result, state_dir)
    missed = [q.id for q, p, _ in result.results if p < 1.0]
    if missed:
        with review.open_store(state_dir) as store:
            store.enqueue(missed, dt.date.today(), source=state.exam_id)
        console.say(f"\n{len(missed)} missed question(s) added to `lakeprep quiz review`.")
    console.say(f"Submission for your instructor: {submission}")
    state_path.unlink(missing_ok=True)
    return 0


def _review(args) -> int:
    from lakeprep.quiz import paths, review

    today = _today(args.today)
    with review.open_store(paths.state_dir()) as store:
        if args.list:
            review.list_queue(_console(), store, today)
            return 0
        catalog, banks = _load(args.bank)
        review.run_review(_console(), store, banks.by_id(), today, catalog, limit=args.limit)
    return 0


def _classify(paths_given: list[Path]):
    """Split paths into bank files and rubric files, and pick the directory whose catalogue applies."""
    from lakeprep.errors import LakeprepError
    from lakeprep.quiz import paths

    if not paths_given:
        base = paths.default_bank_dir()
        return paths.bank_files(base), paths.rubric_files(base), base
    banks, rubrics = [], []
    base = None
    for p in paths_given:
        if p.is_dir():
            if p.name == "rubrics":
                rubrics += sorted(f for f in p.iterdir() if f.suffix in (".yml", ".yaml"))
            else:
                banks += paths.bank_files(p)
                rubrics += paths.rubric_files(p)
            base = base or (p.parent if p.name == "rubrics" else p)
        elif p.is_file():
            if p.name in paths.NON_BANK_FILES:
                continue  # the catalogues are read, not validated as banks
            (rubrics if p.parent.name == "rubrics" else banks).append(p)
            base = base or (p.parent.parent if p.parent.name == "rubrics" else p.parent)
        else:
            raise LakeprepError(f"{p} does not exist: pass bank files or directories")
    return banks, rubrics, base


def _validate(args) -> int:
    from lakeprep.quiz.bank import load_banks
    from lakeprep.quiz.catalog import load_catalog
    from lakeprep.quiz.rubrics import load_rubrics

    bank_paths, rubric_paths, base = _classify(args.paths)
    catalog = load_catalog(base)
    banks = load_banks(bank_paths, catalog)
    rubrics, rubric_issues = load_rubrics(rubric_paths, catalog)
    issues = sorted(banks.issues + rubric_issues)
    for issue in issues:
        print(issue)
    n_questions = len(banks.questions)
    summary = (f"{len(bank_paths)} bank file(s), {n_questions} valid question(s), "
               f"{len(rubric_paths)} rubric file(s)")
    if issues:
        files = len({i.file for i in issues})
        print(f"\n{len(issues)} problem(s) in {files} file(s); {summary}.")
        return 1
    print(f"OK: {summary}; no problems.")
    return 0


def _stats(args) -> int:
    from collections import Counter

    from lakeprep.quiz.sampling import section_quotas

    catalog, banks = _load(args.dir)
    print(f"{'bank':<20} {'chapter':>7} {'questions':>9}  types")
    for bank in banks.banks:
        types = Counter(q.type for q in bank.questions)
        print(f"{bank.id:<20} {bank.chapter if bank.chapter is not None else 'pool':>7} {len(bank.questions):>9}  "
              + ", ".join(f"{t} {c}" for t, c in sorted(types.items())))
    pool = Counter(catalog.section_of(q.objectives) for q in banks.pool)
    quotas = section_quotas(catalog.exam_questions, catalog.weights)
    print(f"\npractice pool: {sum(pool.values())} questions")
    for section, quota in quotas.items():
        print(f"  {section:<4} {pool.get(section, 0):>4} in pool; one exam needs {quota}, two disjoint forms need {2 * quota}")
    per_objective = Counter(o for q in banks.questions for o in set(q.objectives))
    thin = [o for o, spec in catalog.objectives.items() if not spec.retired and per_objective.get(o, 0) < 2]
    print(f"\nobjectives with fewer than 2 questions: {len(thin)}")
    for oid in thin:
        print(f"  {oid:<9} {per_objective.get(oid, 0)}  {catalog.objectives[oid].title}")
    if banks.issues:
        print(f"\n{len(banks.issues)} problem(s) in the banks: run `lakeprep bank validate`.")
    return 0


def _export(args) -> int:
    from lakeprep.errors import LakeprepError
    from lakeprep.quiz.export import FORMATS

    catalog, banks = _load(args.dir)
    selected = banks.banks
    if args.bank:
        bank = banks.bank(args.bank)
        if bank is None:
            raise LakeprepError(f"no bank {args.bank!r}; banks: {', '.join(b.id for b in banks.banks) or 'none'}")
        selected = [bank]
    if banks.issues:
        print(f"lakeprep: {len(banks.issues)} problem(s) in the banks; broken questions are left out "
              "(`lakeprep bank validate`).", file=sys.stderr)
    render, suffix = FORMATS[args.format]
    if args.out is None:
        sys.stdout.write(render(selected))
    elif args.out.is_dir():
        for bank in selected:
            (args.out / f"{bank.id}{suffix}").write_text(render([bank]), encoding="utf-8")
        print(f"wrote {len(selected)} file(s) to {args.out}")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(selected), encoding="utf-8")
        print(f"wrote {args.out} ({sum(len(b.questions) for b in selected)} questions)")
    return 0


def _grade_quizzes(args) -> int:
    from lakeprep.quiz.grading import grade_files, submission_files, write_outputs

    catalog, banks = _load(args.bank)
    if banks.issues:
        print(f"lakeprep: {len(banks.issues)} problem(s) in the banks; broken questions are not graded "
              "(`lakeprep bank validate`).", file=sys.stderr)
    threshold = _threshold(args.pass_threshold, catalog.pass_threshold)
    run = grade_files(submission_files(args.submissions, exclude=args.out), banks, catalog, threshold)
    written = write_outputs(run, args.out, catalog)
    print(f"graded {len(run.graded)} submission(s); {len(run.problems)} problem(s) in {written['errors']}")
    print(f"wrote {written['gradebook']}, {written['item_analysis']}, {written['report']} and {written['feedback']}/")
    return 1 if run.problems else 0


def _grade_rubrics(args) -> int:
    from lakeprep.quiz import paths
    from lakeprep.quiz.catalog import load_catalog
    from lakeprep.quiz.rubrics import grade_rubric_dir, load_rubrics

    rubric_dir = args.rubrics or (paths.default_bank_dir() / "rubrics")
    catalog = load_catalog(rubric_dir.parent if args.rubrics else None)
    files = sorted(p for p in rubric_dir.glob("*.y*ml")) if rubric_dir.is_dir() else []
    rubrics, issues = load_rubrics(files, catalog)
    for issue in issues:
        print(issue, file=sys.stderr)
    grades, problems = grade_rubric_dir(args.assessments, args.out, rubrics)
    print(f"graded {len(grades)} assessment(s); {len(problems)} problem(s) in {args.out / 'errors.csv'}")
    print(f"wrote {args.out / 'rubric_grades.csv'} and {args.out / 'rubric_scores.csv'}")
    return 1 if problems else 0
