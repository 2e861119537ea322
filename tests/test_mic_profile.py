"""The persistent mic profile: card discovery, the ~/.asoundrc writer, and ALSA reading what it wrote.

What can be proven without a sound card:
- ALSA parses the written file (arecord -L lists its devices, no config errors) and resolves
  the default capture device to the card *by id* (opening it asks ALSA for card "Device").
- The same profile, with its capture target pointed at a file-backed fake card, is a working
  default device for a fresh process (malsori mic test / record through PortAudio).
Not proven here: a real `hw:CARD=<id>` opening, and playback through "sysdefault".
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from fakemic import asoundrc_text, subprocess_env, to_raw_s16
from speech import SR, pad, speak

from app.alsa_profile import backup_path, profile_card, render_profile, reset_profile, write_profile
from app.cli import main
from app.devices import find_card, parse_alsa_cards, pick_usb_mic, read_alsa_cards
from core.errors import DeviceError, OutputError

PI_CARDS = """\
 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones
                      bcm2835 Headphones
 1 [vc4hdmi        ]: vc4-hdmi - vc4-hdmi
                      vc4-hdmi
 2 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-0000:01:00.0-1.3, full speed
"""


def run_malsori(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd="/")


def alsa(args, home):
    return subprocess.run(args, env=subprocess_env(home), capture_output=True, text=True, timeout=20)


# -- discovery --------------------------------------------------------------------------


def test_cards_are_read_with_their_stable_ids(tmp_path):
    path = tmp_path / "cards"
    path.write_text(PI_CARDS)
    cards = read_alsa_cards(path)
    assert [(c.number, c.id, c.driver) for c in cards] == [
        (0, "Headphones", "bcm2835_headpho"),
        (1, "vc4hdmi", "vc4-hdmi"),
        (2, "Device", "USB-Audio"),
    ]
    assert cards[2].name == "USB PnP Sound Device"
    assert "C-Media" in cards[2].long_name


def test_no_proc_file_means_no_cards(tmp_path):
    assert read_alsa_cards(tmp_path / "missing") == []


@pytest.mark.parametrize("query", ["Device", "pnp", "C-MEDIA", "usb"])
def test_the_usb_mic_is_found_by_any_part_of_its_name(query):
    assert pick_usb_mic(parse_alsa_cards(PI_CARDS), query).id == "Device"


def test_without_a_name_the_only_usb_card_is_the_mic():
    assert pick_usb_mic(parse_alsa_cards(PI_CARDS)).id == "Device"


def test_unknown_and_ambiguous_names_are_clear_errors():
    cards = parse_alsa_cards(PI_CARDS)
    with pytest.raises(DeviceError, match="no sound card matches 'blue'.*Device"):
        find_card(cards, "blue")
    with pytest.raises(DeviceError, match="several cards"):
        find_card(cards, "h")  # Headphones and vc4hdmi
    with pytest.raises(DeviceError, match="no USB microphone"):
        pick_usb_mic(cards[:2])


# -- the writer -------------------------------------------------------------------------


def test_alsa_parses_the_profile_and_resolves_capture_to_the_card_id(tmp_path):
    write_profile("Device", path=tmp_path / ".asoundrc")
    listed = alsa(["arecord", "-L"], tmp_path)
    assert listed.returncode == 0
    assert "conf.c" not in listed.stderr  # a syntax error shows up as conf.c complaints
    assert "malsori_mic" in listed.stdout.split() and "default" in listed.stdout.split()
    opened = alsa(["arecord", "-D", "default", "-d", "1", "-f", "S16_LE", str(tmp_path / "x.wav")], tmp_path)
    assert opened.returncode != 0  # no such card in this machine...
    assert "card index for Device" in opened.stderr  # ...but ALSA looked it up by its id


def test_a_broken_file_would_be_noticed_by_that_check(tmp_path):
    (tmp_path / ".asoundrc").write_text(render_profile("Device")[:-60])  # cut off mid-block
    listed = alsa(["arecord", "-L"], tmp_path)
    assert "conf.c" in listed.stderr or "malsori_mic" not in listed.stdout.split()


def test_writing_twice_changes_nothing(tmp_path):
    path = tmp_path / ".asoundrc"
    first = write_profile("Device", path=path)
    text = path.read_bytes()
    second = write_profile("Device", path=path)
    assert first.changed and not second.changed
    assert path.read_bytes() == text
    assert not backup_path(path).exists()  # there was nothing of the user's to back up
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # other users' programs must read it
    assert profile_card(path) == "Device"


def test_the_users_file_is_kept_backed_up_and_restored_by_reset(tmp_path):
    path = tmp_path / ".asoundrc"
    original = b"# my settings\npcm.mixed { type plug; slave.pcm \"dmix\" }\n"
    path.write_bytes(original)
    change = write_profile("Device", path=path)
    assert change.backup == backup_path(path) and change.backup.read_bytes() == original
    assert path.read_text().startswith(original.decode())  # their definitions still apply
    write_profile("Device", path=path)
    write_profile("Mic", path=path)  # switching mics keeps the first backup, the user's
    assert backup_path(path).read_bytes() == original
    assert profile_card(path) == "Mic"
    assert path.read_text().count("pcm.!default") == 1

    reset = reset_profile(path)
    assert reset.restored and path.read_bytes() == original
    assert not backup_path(path).exists()


def test_reset_keeps_edits_made_after_mic_use(tmp_path):
    path = tmp_path / ".asoundrc"
    original = "# my settings\npcm.mixed { type plug; slave.pcm \"dmix\" }\n"
    path.write_text(original)
    write_profile("Device", path=path)
    with open(path, "a") as f:  # the person adds a device after `mic use`
        f.write("pcm.later { type hw; card 1 }\n")
    reset = reset_profile(path)
    assert reset.changed and reset.kept_edits and not reset.restored
    assert path.read_text() == original + "\npcm.later { type hw; card 1 }\n"
    assert profile_card(path) is None
    assert backup_path(path).read_text() == original  # the file before `mic use` is not thrown away


@pytest.mark.parametrize("device", ["-1", "two"])
def test_mic_use_refuses_a_device_number_alsa_cannot_have(cli_home, device, capsys):
    home, cards = cli_home
    with pytest.raises(SystemExit) as exit_:
        main(["mic", "use", "pnp", "--cards", str(cards), "--device", device])
    assert exit_.value.code == 2 and "--device" in capsys.readouterr().err
    assert not (home / ".asoundrc").exists()


def test_reset_removes_a_file_that_only_held_the_profile(tmp_path):
    path = tmp_path / ".asoundrc"
    write_profile("Device", path=path)
    assert reset_profile(path).changed and not path.exists()
    assert not reset_profile(path).changed


def test_a_card_id_that_could_inject_config_is_refused(tmp_path):
    with pytest.raises(DeviceError):
        write_profile('x" } pcm.evil { type null', path=tmp_path / ".asoundrc")


def test_an_unwritable_place_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "etc"
    not_a_folder.write_text("")  # (permissions cannot stop root, who runs these tests here)
    with pytest.raises(OutputError, match="cannot write"):  # exit 13, as any file that cannot be written
        write_profile("Device", path=not_a_folder / "asound.conf")


# -- the profile in use, with a file-backed fake card behind it ---------------------------


@pytest.fixture(scope="module")
def speech():
    return speak("사과 주세요")


@pytest.fixture
def home_with_fake_card(tmp_path, speech):
    """HOME whose .asoundrc defines a 48 kHz-only fake card (and its own default), then the profile on top."""
    home = tmp_path / "home"
    home.mkdir()
    raw = home / "card.raw"
    raw.write_bytes(to_raw_s16(pad(speech, lead_s=1.0, trail_s=2.0), sr=SR, native_sr=48_000))
    (home / ".asoundrc").write_text(asoundrc_text(raw, native_sr=48_000, name="fakecard"))
    change = write_profile("Device", path=home / ".asoundrc", capture_target="fakecard")
    assert change.replaced_default  # the profile's default now wins over the file's own
    return home


def test_a_fresh_process_records_from_the_profile_default(home_with_fake_card, speech, tmp_path):
    env = subprocess_env(home_with_fake_card)
    out = tmp_path / "take.wav"
    rec = run_malsori(["mic", "record", str(out), "--auto-stop"], env)
    assert rec.returncode == 0, rec.stderr
    assert "speech-end" in rec.stdout
    y, sr = sf.read(out, dtype="float32")
    assert sr == 16_000
    at = int(np.argmax(np.correlate(y, speech, "valid")))
    assert np.corrcoef(y[at : at + len(speech)], speech)[0, 1] > 0.99

    test = run_malsori(["mic", "test", "--seconds", "2", "--json"], env)
    assert test.returncode == 0, test.stderr
    assert "recording 2 s: say something" in test.stderr  # prompted once the microphone records
    report = json.loads(test.stdout)
    assert report["speech_found"] and report["device_sr"] == 48_000
    assert -20 < report["level_dbfs"] < 0 and report["clipped_fraction"] == 0

    listed = run_malsori(["mic", "list"], env)
    assert "(default)" in listed.stdout and "card 'Device'" in listed.stdout


# -- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    cards = tmp_path / "cards"
    cards.write_text(PI_CARDS)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "malsori"))
    return home, cards


def test_mic_use_list_and_reset(cli_home, tmp_path, capsys):
    home, cards = cli_home
    (home / ".asoundrc").write_text("pcm.mine { type null }\n")

    assert main(["mic", "use", "pnp", "--cards", str(cards)]) == 0
    assert profile_card(home / ".asoundrc") == "Device"
    listed = alsa(["arecord", "-L"], home)  # what the CLI wrote from the fake card list, ALSA reads
    assert "conf.c" not in listed.stderr and "malsori_mic" in listed.stdout.split()
    assert "pcm.mine" in (home / ".asoundrc").read_text()
    config = json.loads((tmp_path / "malsori" / "config.json").read_text())
    assert config["microphone"]["card_id"] == "Device"
    assert "backup" in capsys.readouterr().out

    assert main(["mic", "use", "pnp", "--cards", str(cards)]) == 0
    assert "nothing changed" in capsys.readouterr().out

    assert main(["mic", "list", "--cards", str(cards)]) == 0
    out = capsys.readouterr().out
    assert "card 2: id 'Device'" in out and "<- microphone profile" in out

    assert main(["mic", "reset"]) == 0
    assert (home / ".asoundrc").read_text() == "pcm.mine { type null }\n"
    assert "microphone" not in json.loads((tmp_path / "malsori" / "config.json").read_text())


def test_mic_use_with_an_unknown_name_exits_with_the_device_error_code(cli_home, capsys):
    home, cards = cli_home
    assert main(["mic", "use", "blue-yeti", "--cards", str(cards)]) == DeviceError.exit_code
    assert "no sound card matches" in capsys.readouterr().err
    assert not (home / ".asoundrc").exists()


def test_mic_use_with_an_unreadable_config_changes_nothing(cli_home, tmp_path, capsys):
    home, cards = cli_home
    config = tmp_path / "malsori" / "config.json"
    config.parent.mkdir()
    config.write_text("{not json")
    assert main(["mic", "use", "pnp", "--cards", str(cards)]) == 1
    assert "fix or remove the file" in capsys.readouterr().err
    assert not (home / ".asoundrc").exists() and config.read_text() == "{not json"


@pytest.mark.parametrize("argv, code, message", [
    (["record", "FILE/take.wav"], 13, "is a file, not a folder"),  # checked before the take is spoken
    (["record", "take.wav", "--max-seconds", "nan"], 2, "--max-seconds must be a positive number"),
    (["record", "take.mp3"], 2, "give a name ending in .wav"),  # WAV bytes under another name
    (["test", "--seconds", "inf"], 2, "--seconds must be a positive number"),
])
def test_mic_options_and_output_are_checked_before_recording(tmp_path, capsys, argv, code, message):
    (tmp_path / "file").write_text("")
    argv = [a.replace("FILE", str(tmp_path / "file")) for a in argv]
    assert main(["mic", *argv]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "recording" not in err


def test_a_take_stopped_before_any_sound_is_not_reported_as_written(tmp_path, monkeypatch, capsys):
    import app.recorder
    from app.recorder import Take

    class StoppedAtOnce:  # Ctrl-C before the first block: what no sound card here can be made to do
        def __init__(self, **_):
            pass

        def record(self):
            return Take(np.zeros(0, np.float32), 16_000, None, "stopped", False)

    monkeypatch.setattr(app.recorder, "Recorder", StoppedAtOnce)
    out = tmp_path / "take.wav"
    assert main(["mic", "record", str(out)]) == 1
    err = capsys.readouterr().err
    assert "nothing was recorded" in err and "was not written" in err and not out.exists()


def test_mic_test_without_any_microphone_is_a_clear_error(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    # an ALSA whose only device is a card that does not exist, whatever cards this machine has
    conf = tmp_path / "alsa.conf"
    conf.write_text('pcm.!default { type hw; card "malsori_no_such_card" }\n')
    proc = run_malsori(["mic", "test", "--seconds", "1"], subprocess_env(home, ALSA_CONFIG_PATH=str(conf)))
    assert proc.returncode == DeviceError.exit_code
    assert "no microphone found" in proc.stderr
    assert "say something" not in proc.stderr  # no prompt to speak when there is nothing to speak to
