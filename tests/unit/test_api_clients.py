"""API clients in the domain: the clients document, key digests, scopes and namespaced transaction ids."""

import pytest

from fraud_detection.domain.clients import (
    ApiClient,
    ClientConfigError,
    ClientDirectory,
    Scope,
    key_digest,
    parse_clients,
    scoped_id,
)

KEY = "fdk_unit-test-key-of-enough-length-00001"


def document(**changes):
    entry = {
        "namespace": "acme",
        "scopes": ["score", "explain"],
        "keys": [{"id": "k1", "sha256": key_digest(KEY)}],
    }
    return {"clients": {"checkout": entry | changes}}


def test_a_key_authenticates_its_client_and_only_its_digest_is_kept():
    directory = parse_clients(document())
    client = directory.authenticate(KEY)
    assert client is not None
    assert (client.name, client.namespace) == ("checkout", "acme")
    assert client.allows(Scope.SCORE)
    assert client.allows(Scope.EXPLAIN)
    assert not client.allows(Scope.FEEDBACK)
    assert KEY not in str(directory.to_document())
    assert parse_clients(directory.to_document()).authenticate(KEY) == client  # the document round-trips


@pytest.mark.parametrize("guess", ["", KEY[:-1], KEY + "x", KEY.upper(), key_digest(KEY), "short"])
def test_near_misses_and_the_digest_itself_do_not_authenticate(guess):
    assert parse_clients(document()).authenticate(guess) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"scopes": []}, "scopes must be a non-empty list"),
        ({"scopes": ["score", "root"]}, "'root' is not a valid Scope"),
        ({"namespace": "Acme:1"}, "namespace must match"),
        ({"keys": [{"id": "k1", "sha256": "not-hex"}]}, r"keys\[0\].sha256 must be 64"),
        ({"keys": "abc"}, "keys must be a list"),
    ],
)
def test_a_malformed_document_names_the_client_and_the_field(changes, problem):
    with pytest.raises(ClientConfigError, match=f"client 'checkout': .*{problem}"):
        parse_clients(document(**changes))


def test_a_key_held_by_two_clients_and_a_bad_name_are_refused():
    twice = document()
    twice["clients"]["other"] = twice["clients"]["checkout"]
    with pytest.raises(ClientConfigError, match="also held by"):
        parse_clients(twice)
    with pytest.raises(ClientConfigError, match="client 'Bad Name'"):
        parse_clients({"clients": {"Bad Name": document()["clients"]["checkout"]}})
    with pytest.raises(ClientConfigError, match="'clients' must be an object"):
        parse_clients({"clients": []})


def test_ids_are_scoped_by_namespace():
    client = ApiClient("checkout", "acme", frozenset({Scope.SCORE}))
    assert client.scoped_ids(["tx:1", None]) == ("acme:tx:1", None)
    assert scoped_id("evil", "tx:1") != client.scoped_id("tx:1")  # another namespace never collides


def test_an_empty_directory_accepts_nobody():
    assert ClientDirectory(()).authenticate(KEY) is None
