"""Errors a user can cause. Each carries the CLI exit code that reports it.

One base class, `MalsoriError`; the CLI prints its message as one line on stderr and exits
with `exit_code`, the GUI shows the message. The exit codes are documented in docs/operations.md.
"""


class MalsoriError(Exception):
    """Base of every error a person can cause and act on."""

    exit_code = 1


class UsageError(MalsoriError):
    """Options that contradict each other or would be silently ignored."""

    exit_code = 2


class AudioNotFoundError(MalsoriError):
    """The path does not exist, or is a directory rather than a file."""

    exit_code = 3


class AudioDecodeError(MalsoriError):
    """The file exists but is not audio we can decode (corrupt, truncated, unknown format)."""

    exit_code = 4


class EmptyAudioError(MalsoriError):
    """The audio holds no samples at all."""

    exit_code = 5


class NonFiniteAudioError(MalsoriError):
    """The audio holds NaN or infinite samples."""

    exit_code = 6


class NoSpeechError(MalsoriError):
    """Voice activity detection found no speech (a silent or noise-only take)."""

    exit_code = 7


class SpeechTooShortError(MalsoriError):
    """Less speech than the scorer needs (a click, a cough, a cut-off word)."""

    exit_code = 8


class AudioTooLongError(MalsoriError):
    """More audio than one practice item should ever need."""

    exit_code = 9


class ModelError(MalsoriError):
    """No trained model, or a checkpoint that is corrupt or incompatible."""

    exit_code = 10


class DeviceError(MalsoriError):
    """No microphone, or the microphone failed or disappeared."""

    exit_code = 11


class TTSError(MalsoriError):
    """No reference voice could be made for a text."""

    exit_code = 12


class OutputError(MalsoriError, OSError):
    """An output file cannot be written (no permission, a directory in the way, disk full).

    Also an OSError, so code that already handles failed writes keeps working.
    """

    exit_code = 13


class WordListError(MalsoriError):
    """A word list file is missing, unreadable or malformed (the message names file and row)."""

    exit_code = 14


class CorpusError(MalsoriError):
    """Bad corpus input (vocabulary file, options, output folder); the message says which."""

    exit_code = 15


class ManifestError(MalsoriError):
    """The data folder or its manifest cannot be used for training or evaluation."""

    exit_code = 16


class RealsetError(MalsoriError):
    """The real-voice set cannot be built or read: a source package is missing (the message names
    the apt package), a reserved language was asked for, or DIR holds no pairs.csv."""

    exit_code = 17
