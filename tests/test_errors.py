"""One exception hierarchy, one-line messages, exit statuses defined once."""

from __future__ import annotations

import pytest

from linkcheck import errors


def test_every_error_is_a_linkcheck_error_with_status_2() -> None:
    for cls in (errors.InputError, errors.NotFoundError, errors.FormatError, errors.MalformedElfError,
                errors.ArchiveError, errors.TargetError, errors.UsageError):
        err = cls("x")
        assert isinstance(err, errors.LinkcheckError)
        assert err.exit_status is errors.ExitStatus.ERROR


def test_messages_are_one_line_whatever_the_input_held() -> None:
    err = errors.MalformedElfError("bad name 'a\nb\r\tc'   here")
    assert err.message == "bad name 'a b c' here"
    assert "\n" not in str(err)


def test_exit_statuses_are_distinct() -> None:
    assert sorted(int(s) for s in errors.ExitStatus) == [0, 1, 2]


@pytest.mark.parametrize("cls", [errors.NotFoundError, errors.MalformedElfError, errors.ArchiveError])
def test_specific_errors_are_caught_by_their_family(cls: type[errors.LinkcheckError]) -> None:
    family = errors.InputError if cls is errors.NotFoundError else errors.FormatError
    with pytest.raises(family):
        raise cls("x")
