"""Search expressions: the syntax, what matches (the examples of AWS's "CloudWatch search expression syntax"
and "… examples" pages), the labels of the results, and the answers kept for a render worker."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from reportgen.local.mathexpr import ExpressionError, TimeSeries
from reportgen.local.search import AllOf, Answers, AnyOf, Not, Query, Recorder, Term, labels, parse
from reportgen.local.store import MetricKey


def metric(namespace: str, name: str, **dimensions: str) -> MetricKey:
    return MetricKey.of(namespace, name, dimensions.items())


ESTATE = {
    "cpu i-1": metric("AWS/EC2", "CPUUtilization", InstanceId="i-1234567890123456"),
    "cpu i-2": metric("AWS/EC2", "CPUUtilization", InstanceId="i-2"),
    "cpu t2.micro": metric("AWS/EC2", "CPUUtilization", InstanceType="t2.micro"),
    "cpu m5.large": metric("AWS/EC2", "CPUUtilization", InstanceType="m5.large"),
    "cpu all": metric("AWS/EC2", "CPUUtilization"),
    "network i-2": metric("AWS/EC2", "NetworkPacketsIn", InstanceId="i-2"),
    "ebs reads": metric("AWS/EBS", "VolumeReadOps", VolumeId="vol-1", Project="ProjectA"),
    "ecs cpu": metric("AWS/ECS", "CPUUtilization", ClusterName="prod"),
    "lambda errors": metric("AWS/Lambda", "Errors", FunctionName="checkout"),
    "lambda calls a": metric("AWS/Lambda", "Invocations", FunctionName="ProjectA-api"),
    "lambda calls c": metric("AWS/Lambda", "Invocations", FunctionName="ProjectC-api"),
    "nlb lcus": metric("AWS/NetworkELB", "ConsumedLCUs", LoadBalancer="net/lb"),
    "nlb flows": metric("AWS/NetworkELB", "ActiveFlowCount", LoadBalancer="net/lb"),
    "custom": metric("MyNamespace", "CustomCount1", Stage="Project2-trial333"),
    "custom errors": metric("Shop", "ConnectionErrors", Host="h1"),
    "special": metric("My Namespace", "Custom:Name[Special_Characters", **{"Dimension@Name": "x"}),
    "escaped": metric("Shop", "Europe\\France Traffic(Network)"),
}

MATCHES = {
    # The syntax page's examples.
    '{AWS/EC2,InstanceId} MetricName="CPUUtilization"': ["cpu i-1", "cpu i-2"],
    ' {AWS/NetworkELB, LoadBalancer} "ConsumedLCUs" OR flow ': ["nlb lcus", "nlb flows"],
    ' {"My Namespace", "Dimension@Name"}, "Custom:Name[Special_Characters" ': ["special"],
    ' "CPUUtilization" ': ["cpu i-1", "cpu i-2", "cpu t2.micro", "cpu m5.large", "cpu all", "ecs cpu"],
    ' {AWS/EC2, InstanceType} "CPUUtilization" ': ["cpu t2.micro", "cpu m5.large"],
    ' "AWS/EC2" MetricName="CPUUtilization" ': ["cpu i-1", "cpu i-2", "cpu t2.micro", "cpu m5.large", "cpu all"],
    ' MetricName="CustomCount1" ': ["custom"],
    ' InstanceType=micro ': ["cpu t2.micro"],
    ' InstanceType="t2.micro" Namespace="AWS/EC2" ': ["cpu t2.micro"],
    '"Europe\\\\France Traffic\\(Network\\)"': ["escaped"],
    "{AWS/EC2,InstanceId} network AND packets": ["network i-2"],
    " {AWS/EC2,InstanceId} network packets ": ["network i-2"],
    ' {AWS/EC2,InstanceId} MetricName="CPUUtilization" NOT i-1234567890123456 ': ["cpu i-2"],
    "NOT Namespace=AWS ": ["custom", "custom errors", "special", "escaped"],
    ' {AWS/EC2,InstanceId} NOT "i-2" NOT "i-1234567890123456" ': [],
    " (EC2 OR EBS) AND MetricName=ReadOps ": ["ebs reads"],
    " (EC2 OR EBS) MetricName=ReadOps ": ["ebs reads"],
    " (EC2 OR EBS) AND ReadOps AND ProjectA ": ["ebs reads"],
    ' {AWS/Lambda,FunctionName} MetricName="Errors" OR (MetricName="Invocations" AND (ProjectA OR ProjectB)) ':
        ["lambda errors", "lambda calls a"],
    # The examples page's.
    " {AWS/EC2,InstanceType} MetricName=\"CPUUtilization\" ": ["cpu t2.micro", "cpu m5.large"],
    ' {AWS/EC2} MetricName="CPUUtilization" ': ["cpu all"],
    ' MetricName="CPUUtilization" AND ("AWS/ECS" OR "AWS/ES") ': ["ecs cpu"],
    " {AWS/ECS, ClusterName}, MetricName=\"CPUUtilization\" ": ["ecs cpu"],
    " Errors ": ["lambda errors", "custom errors"],
    ' "Errors" ': ["lambda errors"],
    # A property's value in parentheses, as Grafana writes its queries.
    '{AWS/EC2,InstanceId} "InstanceId"=("i-2" OR "i-1234567890123456") MetricName="CPUUtilization"':
        ["cpu i-1", "cpu i-2"],
    "{AWS/Lambda,FunctionName} FunctionName=(NOT ProjectA)": ["lambda errors", "lambda calls c"],
    # Tokens: composite ones across camel case, digits and delimiters.
    "Project2": ["custom"],
    "trial333": ["custom"],
    "project2trial333": ["custom"],
    "Count1": ["custom"],
    "count1": [],
}


@pytest.mark.parametrize(("text", "expected"), MATCHES.items(), ids=MATCHES.keys())
def test_what_a_search_finds(text: str, expected: list[str]) -> None:
    query = parse(text)
    assert [name for name, found in ESTATE.items() if query.matches(found)] == expected


# The tokenization page's table, and its examples of partial and exact matches.
TOKENS = {
    "count": True, "Count": True, "COUNT": True, "couNT": False, "CustomCount": True, "Count1": True,
    "customcount": False, "count1": False, "customcount1": True, '"CustomCount1"': True, '"customcount1"': False,
    '"Custom"': False, "custom": True, "1": True,
}


@pytest.mark.parametrize(("term", "found"), TOKENS.items(), ids=TOKENS.keys())
def test_partial_and_exact_matches_of_custom_count_1(term: str, found: bool) -> None:
    assert parse(term).matches(metric("Other", "CustomCount1")) is found


@pytest.mark.parametrize("term", ["network/errors", "network+errors", "network-errors", "Network_Errors"])
@pytest.mark.parametrize("name", ["Network-Errors-2", "NetworkErrors2"])
def test_delimiters_in_a_term_join_its_tokens(term: str, name: str) -> None:
    assert parse(term).matches(metric("Other", name))


def test_an_exact_term_needs_the_same_delimiters() -> None:
    assert parse('"Network-Errors-2"').matches(metric("Other", "Network-Errors-2"))
    assert not parse('"Network_Errors_2"').matches(metric("Other", "Network-Errors-2"))


def test_the_parse_tree() -> None:
    query = parse('{"My NS", A, B}, x="y z" OR NOT (w AND v)')
    assert query == Query('{"My NS", A, B}, x="y z" OR NOT (w AND v)', "My NS", frozenset({"A", "B"}), AnyOf((
        Term("x", "y z", exact=True),
        Not(AllOf((Term(None, "w", exact=False), Term(None, "v", exact=False)))))))
    assert parse("{AWS/EC2}").terms is None
    assert parse("a and b").terms == AllOf(tuple(Term(None, word, exact=False) for word in ("a", "and", "b")))


ERRORS = {
    "": "it is empty",
    "   ": "it is empty",
    "{AWS/EC2": "the metric schema must be {Namespace, DimensionName, …}",
    "{,InstanceId}": "the metric schema must be",
    '{"AWS/EC2}': "the metric schema must be",
    "a AND": "expected a search term before end of the search expression",
    "OR a": "expected a search term before 'OR'",
    "(a": "expected ')' before end of the search expression",
    "a)": "unexpected ')'",
    'x="y': "a double-quoted term is not closed",
    "a=": "the property 'a' needs a value after '=', not end of the search expression",
    "a=OR": "the property 'a' needs a value",
    "a=(b=c)": "'b' is a property inside the value of the property 'a'",
    "=a": "expected a search term before '='",
    "x" * 1025: "it is 1025 characters long; a search expression has at most 1024",
}


@pytest.mark.parametrize(("text", "message"), ERRORS.items(), ids=[key[:20] or "empty" for key in ERRORS])
def test_invalid_searches_say_why(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert str(caught.value).startswith("SEARCH('")
    assert message in str(caught.value)
    assert len(str(caught.value)) < 300  # a long query is shortened in the message


def test_labels_show_what_sets_results_apart() -> None:
    cpu = [metric("AWS/EC2", "CPUUtilization", InstanceId=f"i-{n}") for n in (1, 2)]
    assert labels(cpu) == ["i-1", "i-2"]
    assert labels(cpu[:1]) == ["CPUUtilization"]
    network = metric("AWS/EC2", "NetworkIn", InstanceId="i-1")
    assert labels([*cpu, network]) == ["i-1 CPUUtilization", "i-2 CPUUtilization", "i-1 NetworkIn"]
    assert labels([metric("AWS/EC2", "CPUUtilization"), metric("AWS/ECS", "CPUUtilization")]) == ["AWS/EC2", "AWS/ECS"]
    assert labels([metric("A", "M"), metric("A", "M", Host="h1")]) == ["M", "h1"]
    assert labels([]) == []


def test_a_recorder_asks_once_and_its_answers_travel_to_a_worker() -> None:
    asked: list[tuple[str, str, int]] = []
    found = TimeSeries(np.array([0, 60]), np.array([1.0, 2.0]), 60, "i-1")

    def store(expression: str, stat: str, period: int) -> list[TimeSeries]:
        asked.append((expression, stat, period))
        return [found]

    recorder = Recorder(store)
    assert recorder("{AWS/EC2}", "Average", 60) == (found,)
    assert recorder("{AWS/EC2}", "Average", 60) == (found,)
    assert asked == [("{AWS/EC2}", "Average", 60)] and repr(recorder) == "<Recorder questions=1>"
    answers = pickle.loads(pickle.dumps(recorder.answers))  # as a render worker gets them
    assert isinstance(answers, Answers)
    [again] = answers("{AWS/EC2}", "Average", 60)
    assert (again.label, again.values.tolist()) == ("i-1", [1.0, 2.0])
    with pytest.raises(LookupError, match="was not looked up"):
        answers("{AWS/EC2}", "Sum", 60)
