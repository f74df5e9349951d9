"""Every load-time error: located at file:line:col, saying what is wrong and how to fix it."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from router.errors import Diagnostic, PolicyError
from router.policy import Policy
from router.policy.yamlsafe import MAX_BYTES


def errors_of(text: str) -> list[Diagnostic]:
    with pytest.raises(PolicyError) as info:
        Policy.from_text(textwrap.dedent(text), source="p.yaml")
    assert all(d.source == "p.yaml" for d in info.value.diagnostics)
    return list(info.value.diagnostics)


def only_error(text: str) -> Diagnostic:
    diagnostics = errors_of(text)
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    return diagnostics[0]


RULE = "version: 1\nrules:\n  - name: r\n"

# (case id, policy text, line, column, words the message must contain)
CASES = [
    ("yaml-syntax", "version: 1\nrules: [\n", 3, 1, ["YAML syntax"]),
    ("yaml-tab", "version: 1\nrules:\n\t- name: a\n", 3, 1, ["YAML syntax"]),
    (
        "duplicate-key",
        "version: 1\nrules: []\nrules: []\n",
        3,
        1,
        ["duplicate key 'rules'", "line 2"],
    ),
    (
        "unknown-top-key",
        "version: 1\nrule: []\n",
        2,
        1,
        ["unknown key 'rule'", 'did you mean "rules"'],
    ),
    (
        "unknown-rule-key",
        RULE + "    mod: stream\n",
        4,
        5,
        ["unknown key 'mod'", 'did you mean "mode"'],
    ),
    ("unknown-field", RULE + "    when: {audiense: user}\n", 4, 12, ['did you mean "audience"']),
    (
        "unknown-operator",
        RULE + "    when: {expected_tokens: {lt_: 3}}\n",
        4,
        30,
        ['did you mean "lt"'],
    ),
    ("labels-whole", RULE + "    when: {labels: {route: a}}\n", 4, 12, ["labels.<key>"]),
    (
        "wrong-type-int",
        RULE + "    when: {expected_tokens: {lt: '64'}}\n",
        4,
        34,
        ["expected an integer", "without quotes"],
    ),
    (
        "wrong-type-bool",
        RULE + "    when: {post_process: 'true'}\n",
        4,
        26,
        ["expected true or false"],
    ),
    ("wrong-type-mapping", "version: 1\ndefaults: [mode]\n", 2, 11, ["expected a mapping"]),
    ("wrong-type-rules", "version: 1\nrules: {name: a}\n", 2, 8, ["expected a list of rules"]),
    (
        "quote-it-no",
        RULE + "    when: {model: no}\n",
        4,
        19,
        ["YAML reads no as a boolean", 'quote it ("no")'],
    ),
    (
        "yaml-boolean-for-an-enum",
        RULE + "    mode: stream\n    stream: {include_usage: on}\n",
        5,
        29,
        ["'on' is not an include_usage", "allowed: auto, always, never"],
    ),
    ("quote-it-yes-label", RULE + "    when: {labels.beta: yes}\n", 4, 25, ["quote it"]),
    ("quote-it-number-label", RULE + "    when: {labels.tenant: 42}\n", 4, 27, ["quote it"]),
    (
        "operator-misfit",
        RULE + "    when: {audience: {lt: 3}}\n",
        4,
        23,
        ["'lt' does not fit audience", "in, not_in, ne, exists"],
    ),
    (
        "glob-on-enum",
        RULE + "    when: {billing: {glob: 'a*'}}\n",
        4,
        22,
        ["'glob' does not fit billing"],
    ),
    (
        "enum-did-you-mean",
        RULE + "    when: {billing: before_delivry}\n",
        4,
        21,
        ['did you mean "before_delivery"', "allowed: none, after_delivery, before_delivery"],
    ),
    (
        "enum-in-list",
        RULE + "    when: {audience: [user, servce]}\n",
        4,
        29,
        ['did you mean "service"'],
    ),
    ("mode-enum", RULE + "    mode: strem\n", 4, 11, ['did you mean "stream"']),
    ("duplicate-rule", RULE + "  - name: r\n", 4, 11, ["duplicate rule name 'r'", "line 3"]),
    ("missing-name", "version: 1\nrules:\n  - mode: batch\n", 3, 5, ["needs a `name:`"]),
    ("empty-name", "version: 1\nrules:\n  - name: ''\n", 3, 11, ["cannot be empty"]),
    (
        "bad-duration",
        RULE + "    timeouts: {idle: 10 seconds}\n",
        4,
        22,
        ["not a duration", "250ms"],
    ),
    ("duration-no-unit", RULE + "    timeouts: {idle: 10}\n", 4, 22, ["no unit"]),
    ("duration-zero", RULE + "    timeouts: {idle: 0s}\n", 4, 22, ["more than zero"]),
    (
        "stream-on-batch",
        RULE + "    mode: batch\n    stream: {fallback: none}\n",
        5,
        5,
        ["stream:", "batch", "mode: stream"],
    ),
    (
        "stream-on-inherited-batch",
        "version: 1\ndefaults: {mode: batch}\nrules:\n  - name: r\n    stream: {fallback: none}\n",
        5,
        5,
        ["stream:"],
    ),
    ("missing-version", "rules: []\n", 1, 1, ["missing `version: 1`"]),
    ("unknown-version", "version: 2\n", 1, 10, ["unknown policy version 2", "reads: 1"]),
    ("string-version", "version: '1'\n", 1, 10, ["expected an integer"]),
    ("empty-document", "", 1, 1, ["empty", "version: 1"]),
    ("not-a-mapping", "- a\n", 1, 1, ["a policy is a mapping"]),
    (
        "object-tag",
        "version: 1\nrules: !!python/object/apply:os.system ['true']\n",
        2,
        8,
        ["!!python/object/apply:os.system", "not allowed"],
    ),
    ("custom-tag", "version: !v 1\n", 1, 10, ["tag !v is not allowed"]),
    (
        "merge-key",
        "version: 1\ndefaults: &x {mode: batch}\nrules:\n  - <<: *x\n    name: r\n",
        4,
        5,
        ["merge keys"],
    ),
    ("recursive-alias", "version: 1\nrules: &r [*r]\n", 2, 8, ["recursive alias"]),
    (
        "backoff-bounds",
        "version: 1\ndefaults:\n  retries: {backoff: {initial: 9s}}\n",
        3,
        22,
        ["initial (9s) is more than max (8s)"],
    ),
    ("attempts-zero", RULE + "    retries: {attempts: 0}\n", 4, 25, [">= 1"]),
    (
        "validate-type",
        RULE + "    validate: yes please\n",
        4,
        15,
        ["expected true, false or a mapping"],
    ),
    (
        "validate-key",
        RULE + "    validate: {reask: 1, progresive: true}\n",
        4,
        26,
        ['did you mean "progressive"'],
    ),
    ("empty-any", RULE + "    when: {any: []}\n", 4, 17, ["non-empty list", "an empty list"]),
    ("empty-in", RULE + "    when: {audience: []}\n", 4, 22, ["an empty list matches nothing"]),
    ("in-not-a-list", RULE + "    when: {tools: {in: offered}}\n", 4, 24, ["expected a list"]),
    ("empty-test", RULE + "    when: {model: {}}\n", 4, 19, ["an empty test"]),
    ("negative-tokens", RULE + "    when: {expected_tokens: -1}\n", 4, 29, [">= 0"]),
    ("bool-list", RULE + "    when: {post_process: [true]}\n", 4, 26, ["expected true or false"]),
    ("description-type", RULE + "    description: [a]\n", 4, 18, ["expected a string"]),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_load_error_is_located_and_explained(
    text: str, line: int, column: int, words: list[str]
) -> None:
    diagnostic = only_error(text)
    assert (diagnostic.line, diagnostic.column) == (line, column), str(diagnostic)
    for word in words:
        assert word in diagnostic.message, str(diagnostic)
    assert str(diagnostic).startswith(f"p.yaml:{line}:{column}: error: ")


def test_all_errors_of_a_file_are_reported_in_order() -> None:
    diagnostics = errors_of(
        """\
        version: 1
        defaults:
          mode: batchy
          timeouts: {connect: 5}
        rules:
          - name: a
            when: {audience: usr, model: no}
          - name: a
            retry: 3
        """
    )
    assert [(d.line, d.column) for d in diagnostics] == [
        (3, 9),
        (4, 23),
        (7, 22),
        (7, 34),
        (8, 11),
        (9, 5),
    ]
    assert len({d.code for d in diagnostics}) > 3


def test_the_policy_error_message_counts_the_rest() -> None:
    with pytest.raises(PolicyError, match=r"p\.yaml:3:9: .*\(and 1 more\)"):
        Policy.from_text("version: 1\ndefaults:\n  mode: x\n  extra: 1\n", source="p.yaml")


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    text = "version: 1\n" + "\n".join(lines) + "\nrules: *i\n"
    diagnostic = only_error(text)
    assert diagnostic.code == "alias-bomb"
    assert "alias" in diagnostic.message


def test_a_few_aliases_are_fine() -> None:
    policy = Policy.from_text(
        textwrap.dedent(
            """\
            version: 1
            rules:
              - name: a
                when: {audience: user}
                mode: stream
                timeouts: &slow {first_token: 2m, idle: 1m}
              - name: b
                when: {audience: service}
                timeouts: *slow
            """
        )
    )
    assert policy.rules[1].outcome.options.timeouts.first_token == 120.0


def test_oversized_files_are_refused_before_parsing() -> None:
    text = "version: 1\n" + "#" * MAX_BYTES + "\n"
    diagnostic = only_error(text)
    assert diagnostic.code == "too-large"
    assert str(MAX_BYTES) in diagnostic.message


def test_deep_nesting_is_refused() -> None:
    text = "version: 1\nrules: " + "[" * 5000 + "]" * 5000 + "\n"
    diagnostic = only_error(text)
    assert diagnostic.line == 2
    assert "nesting" in diagnostic.message


def test_nesting_the_yaml_parser_accepts_is_still_refused_past_the_depth_limit() -> None:
    text = "version: 1\nrules: " + "[" * 300 + "]" * 300 + "\n"
    refused = [d for d in errors_of(text) if d.code == "too-large"]
    assert [(d.line, d.message) for d in refused] == [(2, "values nest deeper than 200 levels")]


def test_deep_conditions_are_refused() -> None:
    text = RULE + "    when: " + "{not: " * 40 + "{audience: user}" + "}" * 40 + "\n"
    assert any("nest deeper" in d.message for d in errors_of(text))


def test_rules_may_be_empty_or_absent_and_when_may_be_absent() -> None:
    assert Policy.from_text("version: 1\nrules: []\n").rules == ()
    assert Policy.from_text("version: 1\n").rules == ()
    assert Policy.from_text("version: 1\nrules:\n").rules == ()
    catch_all = Policy.from_text("version: 1\nrules:\n  - name: all\n    mode: stream\n")
    assert catch_all.decide().rule == "all"
    null_when = Policy.from_text("version: 1\nrules:\n  - {name: all, when: , mode: stream}\n")
    assert null_when.decide().rule == "all"


KEYS = [
    "version",
    "rules",
    "defaults",
    "name",
    "when",
    "mode",
    "validate",
    "stream",
    "timeouts",
    "retries",
    "backoff",
    "audience",
    "model",
    "labels.route",
    "any",
    "all",
    "not",
    "in",
    "not_in",
    "lt",
    "glob",
    "exists",
    "reask",
    "include_usage",
    "idle",
    "attempts",
    "x",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(allow_nan=True),
    st.sampled_from(["user", "stream", "batch", "5s", "o*", "none", "", "1", "auto"]),
    st.text(max_size=5),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=30,
)


def load_or_diagnostics(text: str) -> tuple[Policy | None, tuple[Diagnostic, ...]]:
    """The policy, or the diagnostics of the PolicyError (any other exception fails)."""
    try:
        return Policy.from_text(text), ()
    except PolicyError as exc:
        return None, exc.diagnostics


@settings(max_examples=150, deadline=None)
@given(body=DOCUMENTS, version=st.sampled_from([None, 1, 2, "1"]))
def test_any_yaml_document_loads_or_raises_policy_error(body: object, version: object) -> None:
    document = {"version": version, **body} if isinstance(body, dict) else body
    policy, diagnostics = load_or_diagnostics(yaml.safe_dump(document))
    if policy is None:
        assert diagnostics
        assert all(d.line >= 1 and d.column >= 1 for d in diagnostics)
    else:
        policy.decide(audience="user")
        policy.decide(explain=True)


YAML_CHARACTERS = list("ab: -[]{}&*!|>'\"#\n\t0123456789,.?")


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(YAML_CHARACTERS), max_size=80))
def test_any_text_loads_or_raises_policy_error(text: str) -> None:
    policy, diagnostics = load_or_diagnostics("version: 1\n" + text)
    assert policy is not None or diagnostics


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("version: 1\nrules:\n\t- name: a\n", "tabs"),
        ("version: 1\nrules: [\n", "brackets"),
        ("version: 1\nrules: {a: 1\n", "close the [ or {"),
        ('version: 1\ndescription: "open\n', "close the quote"),
        ("version: 1\ndescription: a: b\n", 'quote a value that contains ": "'),
        ("version: 1\nrules: *nope\n", "anchor"),
        ("version: 1\ndescription: @me\n", "quote a value that starts with @"),
    ],
)
def test_yaml_syntax_errors_say_how_to_fix_them(text: str, hint: str) -> None:
    diagnostic = only_error(text)
    assert diagnostic.code == "yaml"
    assert hint in diagnostic.message
