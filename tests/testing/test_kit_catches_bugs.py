"""The kit itself: a broken adapter fails exactly the standard tests about its bug, and
the guard refuses deleted or unexplained overrides.

One pytest subprocess runs every adapter in ``broken/`` (each is the worked example's
Pigeon adapter with one bug) and the outcomes are read from its JUnit XML report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import socialkit.testing

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
PIGEON_SRC = ROOT / "examples" / "plugin_pigeon" / "src"

Outcomes = dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """class name -> standard test name -> passed | failed | error | skipped."""
    work = tmp_path_factory.mktemp("broken")
    for source in (HERE / "broken").glob("*.py"):
        shutil.copy(source, work / source.name)
    (work / "pytest.ini").write_text(
        "[pytest]\n"
        "addopts = --import-mode=importlib -p no:cacheprovider\n"
        "python_files = adapters.py guard_*.py\n"
        "filterwarnings = error\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    report = work / "report.xml"
    env = {"PYTHONPATH": f"{work}:{PIGEON_SRC}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--continue-on-collection-errors",
            f"--junitxml={report}",
            ".",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), done.stdout + done.stderr
    result: Outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        cls, name = case.get("classname", "").rsplit(".", 1)[-1], case.get("name", "")
        outcome = "passed"
        for tag, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            found = case.find(tag)
            if found is not None:
                outcome = word
                if not cls:  # a module that failed to collect
                    cls, outcome = name, f"error: {found.get('message', '')} {found.text or ''}"
        result.setdefault(cls, {})[name] = outcome
    return result


def failed(outcomes: Outcomes, cls: str) -> set[str]:
    return {name for name, outcome in outcomes[cls].items() if outcome in ("failed", "error")}


def test_the_control_adapter_passes_every_applicable_standard_test(outcomes: Outcomes) -> None:
    control = outcomes["TestControl"]
    assert set(control) == set(socialkit.testing.standard_test_names())
    assert failed(outcomes, "TestControl") == set()
    skipped = {name for name, outcome in control.items() if outcome == "skipped"}
    assert skipped == {
        "test_delete_is_unsupported",
        "test_expired_credentials_need_a_person",
        "test_find_published_cannot_tell_without_a_way_to_look",
        "test_metrics_are_unsupported_or_empty",
        "test_thread_is_refused_without_thread_support",
    }


def test_a_platform_with_two_part_threads_passes_the_thread_tests(outcomes: Outcomes) -> None:
    # The kit's threads are as long as the platform allows (3 parts, or 2 here); a sample
    # post with 3 parts could not validate, and no post() override could fix it.
    assert failed(outcomes, "TestTwoPartThreads") == set()
    ran = {name for name, outcome in outcomes["TestTwoPartThreads"].items() if outcome == "passed"}
    assert {
        "test_publish_checkpoints_each_part",
        "test_thread_publishes_every_part_in_order",
        "test_thread_resumes_after_its_published_parts",
        "test_find_published_finds_every_part_of_a_thread",
    } <= ran


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (
            "TestBlindRetry",
            {
                "test_lost_response_on_publish_is_unknown_outcome",
                "test_broken_connection_on_publish_is_unknown_outcome",
                "test_lost_response_then_retry_with_the_same_key_yields_one_post",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_a_post_whose_response_was_lost",
                "test_server_error_on_publish_is_unknown_outcome",
            },
        ),
        (
            "TestNoIdempotencyKey",
            {
                "test_retry_with_the_same_idempotency_key_yields_one_post",
                "test_lost_response_then_retry_with_the_same_key_yields_one_post",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_what_was_published",
                "test_find_published_finds_a_post_whose_response_was_lost",
                "test_find_published_finds_every_part_of_a_thread",
            },
        ),
        (
            "TestRawHttpErrors",
            {
                "test_refused_connection_is_transient",
                "test_connect_timeout_is_transient",
                "test_lost_response_on_publish_is_unknown_outcome",
                "test_broken_connection_on_publish_is_unknown_outcome",
                "test_lost_response_then_retry_with_the_same_key_yields_one_post",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_a_post_whose_response_was_lost",
                "test_thread_resumes_after_its_published_parts",
                "test_lost_response_on_a_lookup_is_transient",
                "test_delete_failure_is_a_socialkit_error",
                "test_metrics_failure_is_a_socialkit_error",
                "test_account_check_failure_is_a_socialkit_error",
            },
        ),
        (
            "TestNoCheckpoints",
            {
                "test_publish_checkpoints_each_part",
                "test_thread_resumes_after_its_published_parts",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
            },
        ),
        (
            "TestRestartsThreads",
            {
                "test_retry_with_the_same_idempotency_key_yields_one_post",
                "test_lost_response_then_retry_with_the_same_key_yields_one_post",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_what_was_published",
                "test_find_published_finds_a_post_whose_response_was_lost",
                "test_thread_resumes_after_its_published_parts",
                "test_find_published_finds_every_part_of_a_thread",
                "test_token_refused_mid_thread_resumes_after_the_published_parts",
            },
        ),
        (
            "TestServerErrorsAreTransient",
            {
                "test_lost_response_on_publish_is_unknown_outcome",
                "test_broken_connection_on_publish_is_unknown_outcome",
                "test_server_error_on_publish_is_unknown_outcome",
                "test_lost_response_then_retry_with_the_same_key_yields_one_post",
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_a_post_whose_response_was_lost",
            },
        ),
        (
            "TestReadsAreWrites",
            {
                "test_lost_response_on_a_lookup_is_transient",
                "test_server_error_on_a_lookup_is_transient",
                "test_metrics_failure_is_a_socialkit_error",
                "test_account_check_failure_is_a_socialkit_error",
            },
        ),
        ("TestGatewayErrorsAreTransient", {"test_server_error_on_publish_is_unknown_outcome"}),
        (
            "TestBrokenConnectionIsTransient",
            {"test_broken_connection_on_publish_is_unknown_outcome"},
        ),
        (
            "TestKeyOnFirstPartOnly",
            {
                "test_lost_response_in_a_thread_then_retry_yields_one_post_per_part",
                "test_find_published_finds_every_part_of_a_thread",
            },
        ),
        (
            "TestRawErrorsAroundPublishing",
            {
                "test_delete_failure_is_a_socialkit_error",
                "test_metrics_failure_is_a_socialkit_error",
                "test_account_check_failure_is_a_socialkit_error",
                "test_capabilities_failure_is_a_socialkit_error",
            },
        ),
        (
            "TestTokenInErrorsAroundPublishing",
            {
                "test_delete_failure_is_a_socialkit_error",
                "test_metrics_failure_is_a_socialkit_error",
                "test_account_check_failure_is_a_socialkit_error",
            },
        ),
        ("TestFindsFirstPartOnly", {"test_find_published_finds_every_part_of_a_thread"}),
        ("TestIgnoresRetryAfter", {"test_rate_limit_is_rate_limited_with_a_time"}),
        ("TestAlwaysSixtySeconds", {"test_rate_limit_is_rate_limited_with_a_time"}),
        ("TestRetryAfterSecondsOnly", {"test_rate_limit_is_rate_limited_with_a_time"}),
        ("TestReasonWithoutMessage", {"test_refusal_is_rejected_with_the_reason"}),
        ("TestResetAsDelay", {"test_rate_limit_headers_are_reported"}),
        ("TestThreadBackwards", {"test_thread_publishes_every_part_in_order"}),
        ("TestThreadUnchained", {"test_thread_publishes_every_part_in_order"}),
        ("TestRefusedRefreshIsRejected", {"test_refused_refresh_needs_a_person"}),
        ("TestDeleteTwiceFails", {"test_deleting_a_deleted_post_succeeds"}),
        ("TestReadsMediaRaw", {"test_media_missing_from_the_media_store_is_rejected"}),
        (
            "TestDeleteNotImplemented",
            {
                "test_declared_capabilities_have_their_methods",
                "test_delete_removes_every_part",
                "test_deleting_a_deleted_post_succeeds",
                "test_delete_failure_is_a_socialkit_error",
            },
        ),
        ("TestViewsAsReach", {"test_fetch_metrics_reports_the_declared_counts"}),
        (
            "TestSwitchedOff",
            {"test_capability_switches_agree_with_the_adapter", "test_delete_is_unsupported"},
        ),
    ],
)
def test_a_bug_fails_exactly_the_standard_tests_about_it(
    outcomes: Outcomes, cls: str, expected: set[str]
) -> None:
    assert failed(outcomes, cls) == expected


def test_a_leaked_token_fails_every_test_that_publishes(outcomes: Outcomes) -> None:
    leaks = failed(outcomes, "TestLeakyLogger")
    assert "test_publish_returns_a_receipt_for_the_post" in leaks
    assert "test_thread_publishes_every_part_in_order" in leaks
    # tests that never publish are unaffected
    assert "test_capabilities_are_data" not in leaks
    assert "test_verify_account_says_who_the_account_is" not in leaks


def test_a_token_issued_during_a_test_is_a_secret_from_then_on(outcomes: Outcomes) -> None:
    # The adapter saves a session token through the provider before publishing and names
    # it in its errors: every test that checks an error of publishing fails.
    leaks = failed(outcomes, "TestSessionTokenInErrors")
    assert {
        "test_refused_connection_is_transient",
        "test_lost_response_on_publish_is_unknown_outcome",
        "test_server_error_on_publish_is_unknown_outcome",
        "test_refusal_is_rejected_with_the_reason",
    } <= leaks
    # publishing that succeeds shows no error, and the scan has nothing to find
    assert "test_publish_returns_a_receipt_for_the_post" not in leaks


def test_an_override_without_a_reason_fails_collection(outcomes: Outcomes) -> None:
    [outcome] = outcomes["guard_unreasoned"].values()
    assert "TypeError" in outcome
    assert "TestUnreasoned.test_publish_returns_a_receipt_for_the_post overrides" in outcome
    assert "@socialkit.testing.override('why')" in outcome


def test_a_deleted_standard_test_fails_collection(outcomes: Outcomes) -> None:
    [outcome] = outcomes["guard_deleted"].values()
    assert "TypeError" in outcome
    assert "test_refused_connection_is_transient" in outcome
    assert "was deleted" in outcome


def test_an_override_with_a_reason_replaces_the_standard_test(outcomes: Outcomes) -> None:
    reasoned = outcomes["TestReasoned"]
    assert failed(outcomes, "TestReasoned") == {"test_fetch_metrics_reports_the_declared_counts"}
    assert reasoned["test_standard_tests_are_intact"] == "passed"
