"""The simulation model spec: validation, YAML round trip, distributions and routing decisions."""

from __future__ import annotations

import random

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from simulation.fitting import describe
from simulation.spec import (
    END,
    START,
    Activity,
    Arrivals,
    Automation,
    Branch,
    Calendar,
    CaseAttribute,
    Condition,
    Decision,
    Distribution,
    Model,
    Role,
    Scenario,
    Shift,
    Volume,
)


def small_model(**overrides) -> Model:
    fields = dict(
        name="t", process="p", start="2025-01-06T00:00:00Z", horizon_days=30,
        arrivals=Arrivals(cases_per_week=100, sites={"North": 0.7, "South": 0.3}),
        attributes=[CaseAttribute(name="amount", number=Distribution(kind="lognormal", median=800, sigma=1.2))],
        activities=[Activity(name="A", role="clerk", duration=Distribution(kind="exponential", mean=600)),
                    Activity(name="B", role="boss", duration=Distribution(kind="gamma", shape=2, scale=300))],
        decisions=[Decision(after=START, branches=[Branch(to="A", probability=1)]),
                   Decision(after="A", branches=[Branch(to="B", when=Condition(attribute="amount", op=">=",
                                                                                value=1000)),
                                                 Branch(to=END, probability=1)]),
                   Decision(after="B", branches=[Branch(to=END, probability=1)])],
        roles=[Role(name="clerk", headcount=2, calendar="office"), Role(name="boss", headcount=1, calendar="office")],
        calendars=[Calendar(name="office", timezone="Europe/Amsterdam",
                            shifts=[Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="08:00", end="17:00")])],
        policies=[Automation(activity="A", failure_rate=0.1, retries=2, exception_role="clerk")],
    )
    return Model(**(fields | overrides))


def test_yaml_round_trip_is_exact_and_readable(tmp_path):
    model = small_model()
    text = model.to_yaml()
    assert Model.from_yaml(text) == model
    assert "hour_of_week: [1.0, 1.0" in text, "numbers stay on one wrapped line"
    assert Model.load(model.save(tmp_path / "m.yaml")) == model
    scenario = Scenario(name="+30%", changes=[Volume(factor=1.3)])
    assert Scenario.from_yaml(scenario.to_yaml()) == scenario


@pytest.mark.parametrize(("dist", "mean"), [
    (Distribution(kind="fixed", value=7), 7),
    (Distribution(kind="exponential", mean=600), 600),
    (Distribution(kind="lognormal", median=100, sigma=0.5), 100 * np.exp(0.125)),
    (Distribution(kind="gamma", shape=2, scale=300), 600),
    (Distribution(kind="weibull", shape=1.5, scale=100), None),
    (Distribution(kind="normal", mean=50, sd=5), 50),
    (Distribution(kind="uniform", low=10, high=20), 15),
    (Distribution(kind="beta", a=8, b=2), 0.8),
    (Distribution(kind="empirical", quantiles=[0, 1, 5, 10]), None),
])
def test_distributions_sample_their_mean(dist, mean):
    draws = dist.sample(np.random.default_rng(7), 200_000)
    assert (draws >= 0).all()
    assert draws.mean() == pytest.approx(dist.mean_value(), rel=0.02)
    if mean is not None:
        assert dist.mean_value() == pytest.approx(mean)
    capped = dist.model_copy(update={"cap": float(np.quantile(draws, 0.5)) or 1.0})
    assert capped.sample(np.random.default_rng(1), 1000).max() <= capped.cap


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "gamma", "mean": 3}, "needs shape, scale"),
    ({"kind": "fixed", "value": 1, "mean": 2}, "takes no mean"),
    ({"kind": "exponential", "mean": -1}, "must be positive"),
    ({"kind": "empirical", "quantiles": [3, 1]}, "non-decreasing"),
])
def test_bad_distributions_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Distribution(**kwargs)


def test_decisions_follow_rules_then_probabilities():
    d = Decision(after="A", branches=[
        Branch(to="CFO", when=Condition(attribute="amount", op=">=", value=50_000)),
        Branch(to="B", probability=0.25), Branch(to="C", probability=0.75)])
    assert d.choose({"amount": 60_000}, 0.1) == "CFO"
    assert d.choose({"amount": 10}, 0.1) == "B"
    assert d.choose({"amount": 10}, 0.5) == "C"
    assert d.choose({}, 0.999999) == "C", "a missing attribute satisfies no rule"
    with pytest.raises(ValidationError, match="sum to"):
        Decision(after="A", branches=[Branch(to="B", probability=0.5)])


@pytest.mark.parametrize(("change", "message"), [
    ({"activities": [Activity(name="A", role="nobody")]}, "unknown role nobody"),
    ({"decisions": [Decision(after="A", branches=[Branch(to=END, probability=1)])]}, "decision after START"),
    ({"roles": [Role(name="clerk", headcount=1, calendar="night"), Role(name="boss", headcount=1)]},
     "unknown calendar night"),
    ({"spec_version": 99}, "newer twinflow"),
    ({"activities": [Activity(name="A", automated=True, calendar="night")]}, "A: unknown calendar night"),
    ({"activities": [Activity(name="A", role="clerk", calendar="office")]}, "a calendar is for a step no person"),
])
def test_models_with_broken_references_are_refused(change, message):
    with pytest.raises(ValidationError, match=message):
        small_model(**change)


def test_only_a_step_done_by_people_can_be_done_at_the_arrival():
    with pytest.raises(ValidationError, match="at_arrival is for a step done by people"):
        Activity(name="A", automated=True, at_arrival=True)
    step = Activity(name="A", role="clerk", at_arrival=True, duration_in_working_time=True)
    assert Activity.model_validate(step.model_dump()) == step
    assert not Activity(name="A").at_arrival and not Activity(name="A").duration_in_working_time


# One distribution of every kind, some capped (the cap is part of a draw).
ONE_OF_EACH_KIND = [
    Distribution(kind="fixed", value=42.0), Distribution(kind="exponential", mean=300),
    Distribution(kind="lognormal", median=600, sigma=1.1, cap=5000), Distribution(kind="gamma", shape=0.7, scale=900),
    Distribution(kind="weibull", shape=1.5, scale=400), Distribution(kind="normal", mean=60, sd=80),
    Distribution(kind="uniform", low=10, high=20), Distribution(kind="beta", a=6, b=2),
    Distribution(kind="empirical", quantiles=[0, 5, 5, 60, 400, 3600], cap=1000)]


@pytest.mark.parametrize("dist", ONE_OF_EACH_KIND, ids=lambda d: d.kind)
def test_one_draw_at_a_time_follows_the_size_one_draws_exactly(dist):
    # The draws as size-1 arrays, the way sample() drew single values before its scalar path: the engine's
    # results for a seed depend on single draws staying the same, and on the generator being left alike.
    def reference(rng: np.random.Generator) -> float:
        k = dist.kind
        x = {"fixed": lambda: np.full(1, dist.value, dtype=float),
             "exponential": lambda: rng.exponential(dist.mean, 1),
             "lognormal": lambda: rng.lognormal(np.log(dist.median), dist.sigma, 1),
             "gamma": lambda: rng.gamma(dist.shape, dist.scale, 1),
             "weibull": lambda: dist.scale * rng.weibull(dist.shape, 1),
             "normal": lambda: np.maximum(rng.normal(dist.mean, dist.sd, 1), 0.0),
             "uniform": lambda: rng.uniform(dist.low, dist.high, 1),
             "beta": lambda: rng.beta(dist.a, dist.b, 1),
             "empirical": lambda: np.interp(rng.uniform(0, 1, 1), np.linspace(0, 1, len(dist.quantiles)),
                                            np.asarray(dist.quantiles, dtype=float))}[k]()
        if dist.cap is not None:
            x = np.minimum(x, dist.cap)
        return float(x[0])

    old, new = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(2000):
        expected = reference(old)
        got = dist.sample(new)
        assert type(got) is float and got == expected
        # Interleaved uniform draws show that both ways leave the generator in the same state.
        assert old.random() == new.random()
    assert np.array_equal(dist.sample(np.random.default_rng(3), 50),
                          [reference(r) for r in [np.random.default_rng(3)] for _ in range(50)])


@pytest.mark.parametrize("dist", ONE_OF_EACH_KIND, ids=lambda d: d.kind)
def test_the_engines_drawer_draws_the_same_distribution_as_sample(dist):
    # The engine draws from Python random.Random streams with a drawer per distribution: other numbers than
    # sample's, the same distribution (the two-sample Kolmogorov-Smirnov test finds no difference).
    drawer, rng = dist._drawer(), random.Random(11)
    drawn = np.array([drawer(rng) for _ in range(20_000)])
    assert drawn.dtype == float and (drawn >= 0).all()
    if dist.cap is not None:
        assert drawn.max() <= dist.cap
    sampled = dist.sample(np.random.default_rng(11), 20_000)
    if dist.kind == "fixed":
        assert (drawn == 42.0).all()
        return
    assert stats.ks_2samp(drawn, sampled).pvalue > 0.001
    # ...and a wrong parameter is told apart: the test can fail.
    assert stats.ks_2samp(drawn * 1.1, sampled).pvalue < 0.001


@pytest.mark.parametrize("dist", [Distribution(kind="empirical", quantiles=[0, 14 * 86400, 15 * 86400, 40 * 86400],
                                               step=86400),
                                  Distribution(kind="lognormal", median=20 * 86400, sigma=0.5, cap=50 * 86400,
                                               step=86400),
                                  Distribution(kind="fixed", value=15.4 * 86400, step=86400)],
                         ids=lambda d: d.kind)
def test_a_step_rounds_every_draw_to_its_multiples(dist):
    # A timer of whole days: every way of drawing gives whole days, the same values as rounding the unstepped
    # distribution's draws (so the mean moves by less than half a step).
    plain = dist.model_copy(update={"step": None})
    drawn = np.array([dist._drawer()(r) for r in [random.Random(5)] for _ in range(5000)])
    sampled, one = dist.sample(np.random.default_rng(5), 5000), dist.sample(np.random.default_rng(5))
    for x in (drawn, sampled, np.array([one])):
        assert (x % 86400 == 0).all()
    assert np.array_equal(sampled, np.round(plain.sample(np.random.default_rng(5), 5000) / 86400) * 86400)
    assert one == round(plain.sample(np.random.default_rng(5)) / 86400) * 86400
    assert abs(sampled.mean() - plain.mean_value()) < 0.5 * 86400 + 0.05 * plain.mean_value()
    assert Distribution.model_validate(dist.model_dump()).step == 86400
    assert "in whole days" in describe(dist)
    with pytest.raises(ValidationError, match="greater than 0"):
        dist.model_validate(dist.model_dump() | {"step": 0})


def test_every_change_describes_itself_in_one_line_starting_with_its_label():
    from simulation.spec import (
        AiTriage,
        ApprovalBand,
        ApprovalMatrix,
        Automation,
        Delegation,
        Escalation,
        ScheduledAction,
        Staffing,
        Volume,
    )

    lines = [
        (ApprovalMatrix(after="Code", then="Post", auto_below=1000, bands=[
            ApprovalBand(min_value=0, approvals=["Approve (head)"]),
            ApprovalBand(min_value=10000, approvals=["Approve (head)", "Approve (CFO)"])]),
         "Approval matrix on amount after Code: auto-approve below 1,000; from 0: Approve (head); "
         "from 10,000: Approve (head) → Approve (CFO); then Post"),
        (Delegation(role="head", delegate="deputy", after_h=4), "Delegation: head absent over 4 h → deputy"),
        (Escalation(activity="Approve", remind_after_h=24, escalate_after_h=48, escalate_to="CFO",
                    business_hours=True),
         "Escalation on Approve: remind after 24 h, escalate after 48 h (reassign to CFO) (business hours)"),
        (Escalation(activity="Approve", remind_after_h=8),
         "Escalation on Approve: remind after 8 h, escalate after never (notify only)"),
        (ScheduledAction(activity="Match", days=["Mon", "Wed"], times=["14:00", "02:00"]),
         "Scheduled Match: Mon, Wed at 02:00, 14:00 (UTC)"),
        (Automation(activity="Code", failure_rate=0.2, retries=2, exception_role="clerk"),
         "Automate Code: 5 s, failure rate 20%, 2 retries from 60 s back-off, exceptions to clerk (10 min)"),
        (Automation(activity="Code"),
         "Automate Code: 5 s, failure rate 0%, 0 retries from 60 s back-off, failures to Dead letter"),
        (AiTriage(activity="Triage", review_role="agent", threshold=0.9),
         "AI triage of Triage: mean confidence 84%, below 90% reviewed by agent (3 min); misroutes reworked as "
         "Reassign"),
        (Staffing(role="clerk", headcount=3, hourly_cost=55), "Staffing of clerk: headcount 3, hourly cost 55.00"),
        (Volume(factor=1.3, new_site="North", new_site_share=0.2),
         "Volume × 1.3 (+30%) on all sites; new site North with 20% of the cases"),
    ]
    for change, line in lines:
        assert change.describe() == line
        assert line.startswith(change.label)


@pytest.mark.parametrize("dist", [
    Distribution(kind="fixed", value=10.0), Distribution(kind="exponential", mean=10.0),
    Distribution(kind="lognormal", median=10.0, sigma=0.5, cap=100.0), Distribution(kind="gamma", shape=2.0, scale=5.0),
    Distribution(kind="weibull", shape=1.5, scale=10.0), Distribution(kind="normal", mean=10.0, sd=2.0),
    Distribution(kind="uniform", low=5.0, high=15.0), Distribution(kind="empirical", quantiles=[0.0, 4.0, 30.0]),
], ids=lambda d: d.kind)
def test_a_scaled_distribution_draws_the_factor_times_the_values(dist):
    twice = dist.scaled(2.0)
    assert twice.kind == dist.kind
    assert twice.mean_value() == pytest.approx(2 * dist.mean_value())
    a, b = dist.sample(np.random.default_rng(1), 500), twice.sample(np.random.default_rng(1), 500)
    assert np.allclose(b, 2 * a)


def test_a_share_cannot_be_scaled():
    with pytest.raises(ValueError, match="share"):
        Distribution(kind="beta", a=2.0, b=3.0).scaled(2.0)
