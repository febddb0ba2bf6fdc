"""The clients document, field by field: defaults (namespace, keys, key ids), messages that name the client
and field, the minimum key length, and ids scoped by the client's namespace."""

from typing import Any

import pytest

from fraud_detection.domain.clients import (
    MIN_KEY_LENGTH,
    ApiClient,
    ApiKey,
    ClientConfigError,
    ClientDirectory,
    Scope,
    key_digest,
    parse_clients,
)

KEY = "fdk_rules-test-key-of-enough-length-0001"


def entry(**changes: Any) -> dict[str, Any]:
    base = {"namespace": "acme", "scopes": ["score"], "keys": [{"id": "k1", "sha256": key_digest(KEY)}]}
    return {k: v for k, v in (base | changes).items() if v is not None}


def only_client(document: dict[str, Any]) -> ApiClient:
    (client,) = parse_clients(document).clients.values()
    return client


def test_a_key_of_exactly_the_minimum_length_authenticates_and_one_shorter_never_does() -> None:
    exact, short = "k" * MIN_KEY_LENGTH, "s" * (MIN_KEY_LENGTH - 1)
    client = ApiClient(
        "c", "c", frozenset({Scope.SCORE}), (ApiKey("a", key_digest(exact)), ApiKey("b", key_digest(short)))
    )
    directory = ClientDirectory([client])
    assert directory.authenticate(exact) == client
    assert directory.authenticate(short) is None  # even though its digest is stored


def test_a_client_scopes_a_transaction_id_by_its_namespace() -> None:
    client = ApiClient("checkout", "acme", frozenset({Scope.FEEDBACK}))
    assert client.scoped_id("tx-1") == "acme:tx-1"


def test_the_namespace_defaults_to_the_client_name() -> None:
    client = only_client({"clients": {"checkout": entry(namespace=None)}})
    assert client.namespace == "checkout"
    assert client.scoped_id("tx-1") == "checkout:tx-1"


def test_keys_are_optional_and_a_client_without_keys_is_kept() -> None:
    directory = parse_clients({"clients": {"checkout": entry(keys=None)}})
    assert directory.clients["checkout"].keys == ()
    assert directory.to_document()["clients"]["checkout"]["keys"] == []
    assert directory.authenticate(KEY) is None


def test_a_key_keeps_its_id() -> None:
    directory = parse_clients({"clients": {"checkout": entry()}})
    assert directory.to_document()["clients"]["checkout"]["keys"] == [{"id": "k1", "sha256": key_digest(KEY)}]


def test_a_key_without_an_id_is_named_by_the_first_eight_digits_of_its_digest() -> None:
    digest = key_digest(KEY)
    client = only_client({"clients": {"checkout": entry(keys=[{"sha256": digest}])}})
    assert client.keys == (ApiKey(digest[:8], digest),)


@pytest.mark.parametrize("key", [{"id": "k1"}, "k1", {"id": "k1", "sha256": None}])
def test_a_key_without_a_digest_is_refused_naming_its_index(key: Any) -> None:
    good = {"id": "k0", "sha256": key_digest(KEY)}
    with pytest.raises(ClientConfigError, match=r"client 'checkout': keys\[1\]\.sha256 must be 64"):
        parse_clients({"clients": {"checkout": entry(keys=[good, key])}})


@pytest.mark.parametrize("value", [["score"], "score", 1])
def test_a_client_that_is_not_an_object_is_refused_naming_it(value: Any) -> None:
    with pytest.raises(ClientConfigError, match=r"^client 'checkout': must be an object$"):
        parse_clients({"clients": {"checkout": value}})


@pytest.mark.parametrize("document", [{}, {"clients": []}, {"clients": "checkout"}])
def test_a_document_without_a_clients_object_is_refused_naming_the_document(document: dict[str, Any]) -> None:
    with pytest.raises(ClientConfigError, match=r"^clients document: 'clients' must be an object"):
        parse_clients(document)


def test_a_shared_key_names_both_clients() -> None:
    document = {"clients": {"checkout": entry(), "refunds": entry(namespace="shop")}}
    with pytest.raises(ClientConfigError, match=r"client 'refunds': a key is also held by 'checkout'"):
        parse_clients(document)
