"""core.errors: settings named by each front end, user text with braces left alone, any exception described."""

from __future__ import annotations

import errno

from moderator_app.core.errors import DataError, describe_failure


def test_settings_are_named_by_the_front_end_and_other_braces_stay():
    error = DataError("No column 'x' in /tmp/{odd name}/{{label}}.", "Choose one with {text_column}.")
    assert error.render(lambda field: "--" + field.replace("_", "-")) == (
        "No column 'x' in /tmp/{odd name}/{label}. Choose one with --text-column.")
    assert "'text_column'" in str(error)


def test_describe_failure_user_error_os_error_and_bug():
    assert describe_failure(DataError("Bad.", "Fix {max_length}."), str.upper).message == "Bad. Fix MAX_LENGTH."
    full = describe_failure(OSError(errno.ENOSPC, "No space left on device", "/out/model"))
    assert full.is_user_error and "/out/model" in full.message and "No space left" in full.message
    bug = describe_failure(KeyError("oops"))
    assert not bug.is_user_error and bug.message.startswith("Unexpected error: KeyError")
    assert describe_failure(MemoryError()).is_user_error


def test_recursion_memory_and_a_full_disk_without_a_file_are_one_clear_line():
    deep = describe_failure(RecursionError("maximum recursion depth exceeded while decoding a JSON array"))
    assert deep.is_user_error and "nested too deeply" in deep.message and "Unexpected" not in deep.message
    memory = describe_failure(MemoryError())
    assert memory.is_user_error and memory.message.startswith("The computer ran out of memory")
    unnamed = describe_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert unnamed.is_user_error and unnamed.message.startswith("No space left on the disk.")

    class SafetensorError(Exception):  # how safetensors reports ENOSPC: its own exception, the OS's words
        pass

    library = describe_failure(SafetensorError("Error while serializing: I/O error: No space left on device "
                                               "(os error 28)"))
    assert library.is_user_error and library.message.startswith("No space left on the disk")
    assert len(library.message.splitlines()) == 1


def test_a_huge_or_deeply_nested_value_is_quoted_short():
    from moderator_app.core.errors import shown

    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    assert len(shown(nested)) < 40 and len(shown("x" * 10_000)) < 100
