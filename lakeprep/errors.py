"""Errors that the command line prints as one clear message instead of a traceback."""


class LakeprepError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do next."""


class MissingArtifactError(LakeprepError):
    """A lab was started before the lab that produces one of its inputs."""

    def __init__(self, lab: int, artifact: str, kind: str = "table"):
        self.lab = lab
        self.artifact = artifact
        super().__init__(f"run lab {lab} first: the {kind} `{artifact}` it creates does not exist yet")


def choice_error(what: str, value, valid) -> LakeprepError:
    """The error for an unknown value of an enumerated setting, listing the valid ones."""
    listed = ", ".join(str(v) for v in valid)
    return LakeprepError(f"unknown {what} {value!r}; valid values: {listed}")
