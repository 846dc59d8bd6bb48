"""The hub's TOML configuration: the demo file, errors that name the key, storage choice."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubConfig, demo_config_path, load_config, parse_config
from hub.errors import ConfigError, HubError
from hub.model import Kind
from ledger.agency import is_valid_code
from ledger.storage import PostgresStorage, SqliteStorage
from tests.support import G01, G15, G22, H49, POST

KEY_B64 = base64.b64encode(bytes(range(32))).decode()


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(raw, "truc.toml")
    return str(error.value)


def _members(*members: dict[str, Any]) -> dict[str, Any]:
    return {"members": list(members)}


# -- the demo configuration ---------------------------------------------------------------


def test_demo_config_has_the_five_demo_members_with_their_real_codes() -> None:
    config = load_config(None)
    assert [m.code for m in config.members][:5] == [G22, G15, H49, G01, POST]
    assert all(is_valid_code(m.code) for m in config.members)
    by_code = {m.code: m for m in config.members}
    assert by_code[G22].name == "Văn phòng Chính phủ"
    assert by_code[G15].name == "Bộ Tư pháp"
    assert by_code[H49].name == "UBND tỉnh Quảng Ninh"
    assert [m.kind for m in config.members][:5] == [
        "document",
        "document",
        "document",
        "population",
        "postal",
    ]
    assert [m.grpc_port for m in config.members][:5] == [50051, 50052, 50053, 50054, 50055]
    # A commune's and the province's one-stop systems, for dossiers.
    assert {m.code: m.kind for m in config.members[5:] if m.kind == "dossier"} == {
        "000.01.01.H49": "dossier",
        "000.00.01.H49": "dossier",
    }
    assert all(m.public_key is None for m in config.members)


def test_demo_config_settings() -> None:
    config = load_config(None)
    assert config.name == "truc.demo.gov.vn"
    assert config.nats_url == ""
    assert (config.nats_port, config.nats_monitor_port, config.batch_size) == (4222, 8222, 256)
    assert config.ledger_backend == "sqlite"
    assert config.source == str(demo_config_path())
    assert demo_config_path().is_file()


def test_demo_config_routes_documents_between_state_bodies_only() -> None:
    routes = load_config(None).routes
    documents = [r for r in routes if Kind.DOCUMENT in r.kinds]
    assert [(r.senders, r.recipients) for r in documents] == [("000.*", "000.*")]
    assert documents[0].kinds == frozenset({Kind.DOCUMENT, Kind.STATUS, Kind.DELIVERY})
    # Dossiers between state bodies; postal orders to the postal service and tracking back.
    assert {(r.senders, r.recipients, *sorted(r.kinds)) for r in routes} - {
        (r.senders, r.recipients, *sorted(r.kinds)) for r in documents
    } == {
        ("000.*", "000.*", Kind.DOSSIER),
        ("000.*", "BCCI.VNPOST", Kind.POSTAL),
        ("BCCI.VNPOST", "000.*", Kind.POSTAL),
        # Look-ups: tested on their own below.
        ("000.*", "000.00.00.G01", Kind.LOOKUP),
        ("000.00.00.H*", "000.00.00.G01", Kind.LOOKUP),
        ("000.00.00.G01", "000.*", Kind.LOOKUP_ANSWER),
    }


def test_demo_config_lets_provinces_see_more_of_a_citizen_than_ministries() -> None:
    config = load_config(None)
    lookups = {
        (r.senders, r.recipients): r.attributes for r in config.routes if Kind.LOOKUP in r.kinds
    }
    assert lookups == {
        ("000.*", G01): frozenset(),
        ("000.00.00.H*", G01): {"sex", "place_of_birth", "place_of_residence"},
    }
    answers = [r for r in config.routes if Kind.LOOKUP_ANSWER in r.kinds]
    assert [(r.senders, r.recipients) for r in answers] == [(G01, "000.*")]
    assert config.population_citizens == 10_000


def test_route_attributes_must_be_known() -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.attributes"):
        parse_config({"routes": [{"kinds": ["lookup"], "attributes": ["blood_type"]}]})


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "truc.toml"
    path.write_text(
        '[hub]\nname = "truc.test"\n\n[[members]]\ncode = "H55.242"\nname = "Thái Nguyên"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.name == "truc.test"
    assert [m.code for m in config.members] == ["H55.242"]
    assert config.source == str(path)


# -- defaults and values ------------------------------------------------------------------


def test_an_empty_configuration_takes_the_defaults() -> None:
    config = parse_config({})
    assert config.members == () and config.routes == ()
    assert config.ledger_backend == "sqlite"
    assert config.ledger_path == "ledger.sqlite3"


def test_member_defaults_name_to_code_and_kind_to_document() -> None:
    (member,) = parse_config(_members({"code": "G09.20"})).members
    assert (member.name, member.kind, member.grpc_port) == ("G09.20", "document", 0)
    assert member.public_key is None and member.private_key_file is None


def test_member_public_key_and_private_key_file_are_read() -> None:
    (member,) = parse_config(
        _members({"code": G22, "public_key": KEY_B64, "private_key_file": "/keys/g22.pem"})
    ).members
    assert member.public_key == bytes(range(32))
    assert member.private_key_file == Path("/keys/g22.pem")


def test_route_kinds_default_to_every_kind_and_can_be_narrowed() -> None:
    config = parse_config({"routes": [{}, {"senders": G22, "kinds": ["status"]}]})
    assert config.routes[0].senders == "*" and config.routes[0].recipients == "*"
    assert config.routes[0].kinds == frozenset(Kind)
    assert config.routes[1].kinds == frozenset({Kind.STATUS})


def test_member_lookup_names_the_missing_code_and_the_source() -> None:
    config = parse_config(_members({"code": G22}), "truc.toml")
    assert config.member(G22).code == G22
    with pytest.raises(ConfigError, match=r"000\.00\.00\.H49 is not a member in truc\.toml"):
        config.member(H49)


# -- errors name the key ------------------------------------------------------------------


def test_config_error_is_a_hub_error() -> None:
    assert issubclass(ConfigError, HubError)


@pytest.mark.parametrize("code", ["", "000.00.00.g22", "000..00.G22", "A" * 36])
def test_a_bad_member_code_is_named(code: str) -> None:
    message = _error(_members({"code": G22}, {"code": code}))
    assert message.startswith("truc.toml: members[1].code:")
    assert repr(code) in message


def test_a_missing_member_code_is_named() -> None:
    assert "members[0].code" in _error(_members({"name": "no code"}))


def test_a_bad_member_kind_is_named() -> None:
    message = _error(_members({"code": G22, "kind": "ministry"}))
    assert message.startswith("truc.toml: members[0].kind:")
    assert "document, dossier, postal, population" in message


@pytest.mark.parametrize("kind", ["document", "dossier", "postal", "population"])
def test_every_member_kind_is_accepted(kind: str) -> None:
    assert parse_config(_members({"code": G22, "kind": kind})).members[0].kind == kind


@pytest.mark.parametrize("value", ["not base64!", "AAA", KEY_B64 + "$"])
def test_a_public_key_that_is_not_base64_is_named(value: str) -> None:
    assert _error(_members({"code": G22, "public_key": value})) == (
        "truc.toml: members[0].public_key: not base64"
    )


def test_a_public_key_with_non_ascii_characters_is_named() -> None:
    assert "members[0].public_key" in _error(_members({"code": G22, "public_key": "khóa"}))


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_a_public_key_of_the_wrong_length_is_named(length: int) -> None:
    value = base64.b64encode(b"\x07" * length).decode()
    assert _error(_members({"code": G22, "public_key": value})) == (
        "truc.toml: members[0].public_key: an Ed25519 public key is 32 bytes"
    )


def test_a_duplicate_member_is_refused() -> None:
    message = _error(_members({"code": G22}, {"code": H49}, {"code": G22}))
    assert message == f"truc.toml: member code {G22} appears more than once"


def test_a_duplicate_member_error_names_the_code() -> None:
    assert G22 in _error(_members({"code": G22}, {"code": H49}, {"code": G22}))


def test_a_member_that_is_not_a_table_is_named() -> None:
    assert _error({"members": ["000.00.00.G22"]}) == "truc.toml: members[0] must be a table"


def test_a_route_that_is_not_a_table_is_named() -> None:
    assert _error({"routes": ["*"]}) == "truc.toml: routes[0] must be a table"


def test_an_unknown_route_kind_is_named() -> None:
    message = _error({"routes": [{}, {"kinds": ["document", "fax"]}]})
    assert message.startswith("truc.toml: routes[1].kinds:")
    assert "fax" in message


@pytest.mark.parametrize("backend", ["mysql", "", "SQLite"])
def test_a_bad_ledger_backend_is_named(backend: str) -> None:
    message = _error({"ledger": {"backend": backend}})
    assert message.startswith("truc.toml: ledger.backend must be 'sqlite' or 'postgres'")
    assert repr(backend) in message


@pytest.mark.parametrize("key", ["hub", "ledger"])
def test_a_section_that_is_not_a_table_is_named(key: str) -> None:
    assert _error({key: "oops"}) == f"truc.toml: [{key}] must be a table"


def test_ledger_postgres_that_is_not_a_table_is_named() -> None:
    assert "[postgres] must be a table" in _error({"ledger": {"postgres": 5}})


def test_a_non_integer_port_is_named() -> None:
    with pytest.raises(ConfigError, match=r"members\[0\]\.grpc_port"):
        parse_config(_members({"code": G22, "grpc_port": "fifty"}), "truc.toml")


def test_bad_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "truc.toml"
    path.write_text("[hub\nname = ", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: not valid TOML:")


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"cannot read configuration {path}: No such file or directory"


def test_a_directory_is_refused_as_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path)


def test_a_file_that_is_not_utf8_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "truc.toml"
    path.write_bytes('[hub]\nname = "Tr\xfac"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"truc\.toml"):
        load_config(path)


# -- storage ------------------------------------------------------------------------------


def test_sqlite_storage_lives_in_the_data_directory_by_default(tmp_path: Path) -> None:
    storage = parse_config({}).storage(tmp_path)
    assert storage == SqliteStorage(tmp_path / "ledger.sqlite3")


def test_a_relative_sqlite_path_is_relative_to_the_data_directory(tmp_path: Path) -> None:
    config = parse_config({"ledger": {"backend": "sqlite", "path": "db/truc.sqlite3"}})
    assert config.storage(tmp_path) == SqliteStorage(tmp_path / "db" / "truc.sqlite3")


def test_an_absolute_sqlite_path_is_kept(tmp_path: Path) -> None:
    absolute = tmp_path / "elsewhere" / "ledger.db"
    config = parse_config({"ledger": {"path": str(absolute)}})
    assert config.storage(tmp_path / "data") == SqliteStorage(absolute)


def test_postgres_backend_picks_postgres_storage_with_its_settings(tmp_path: Path) -> None:
    config = parse_config(
        {
            "ledger": {
                "backend": "postgres",
                "postgres": {
                    "dbname": "truc_prod",
                    "host": "db.internal",
                    "port": 6432,
                    "user": "truc",
                    "password": "s3cret",
                    "schema": "ledger",
                },
            }
        }
    )
    storage = config.storage(tmp_path)
    assert storage == PostgresStorage(
        dbname="truc_prod",
        host="db.internal",
        port=6432,
        user="truc",
        password="s3cret",
        schema="ledger",
    )
    env = storage.env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_SCHEMA"] == "ledger"


def test_postgres_defaults() -> None:
    storage = parse_config({"ledger": {"backend": "postgres"}}).storage(Path("/unused"))
    assert storage == PostgresStorage(dbname="truc", host="127.0.0.1", port=5432, user="postgres")


def test_sqlite_storage_env_names_the_file(tmp_path: Path) -> None:
    env = HubConfig().storage(tmp_path).env()
    assert env["PERSISTENCE_MODULE"] == "ledger.sqlite_store:QuietSQLiteFactory"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "ledger.sqlite3")


def test_population_settings_are_read_and_checked() -> None:
    config = parse_config({"population": {"register_port": 0, "citizens": 50, "seed": 9}})
    assert (config.population_register_port, config.population_citizens) == (0, 50)
    assert config.population_seed == 9
    with pytest.raises(ConfigError, match=r"population\.citizens: must be an integer"):
        parse_config({"population": {"citizens": "many"}})
