"""The committed schema.graphql is the schema the server serves."""

from pathlib import Path

from strawberry.printer import print_schema

from opsapi.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_is_current():
    committed = SCHEMA_FILE.read_text()
    assert print_schema(schema).strip() == committed.strip(), (
        "schema.graphql is stale: run `make schema` and commit the result"
    )


def test_every_model_type_is_a_relay_node_with_history():
    sdl = print_schema(schema)
    for name in (
        "Incident",
        "IncidentUpdate",
        "CoordinationAction",
        "Partner",
        "Contact",
        "State",
        "UrbanArea",
        "Sector",
    ):
        assert f"type {name} implements Node" in sdl
        block = sdl.split(f"type {name} implements Node", 1)[1].split("\n}\n", 1)[0]
        assert f"): {name}HistoryEntryConnection!" in block
    assert "type User implements Node" in sdl
