from .base import BaseCheck
from ..constants import *
from ..loader import SubmissionLogs
from ..configuration.configuration import Config
from ..utils import check_extra_files
import re
import os


class AccuracyCheck(BaseCheck):
    """Checks accuracy-related submission artifacts and reports issues.

    The `AccuracyCheck` class performs a set of validations on submission
    accuracy outputs. It inspects the parsed MLPerf log and accompanying
    accuracy artifacts provided via `SubmissionLogs` and the test
    `Config` to ensure that reported accuracy metrics meet configured
    targets and limits, that the accuracy JSON exists and is properly
    truncated, that Loadgen did not report blocking errors, and that the
    accuracy run covered the expected dataset size.

    Main check methods:
    - `accuracy_result_check`: Parses `accuracy.txt` lines to validate
        reported metrics against targets, upper limits, and hash presence.
    - `accuracy_json_check`: Ensures the accuracy JSON file exists and is
        within allowed size limits.
    - `loadgen_errors_check`: Fails if Loadgen reported non-ignored errors.
    - `dataset_check`: Verifies the reported sample count matches the
        configured dataset size unless the check is skipped.
    - `extra_files_check`: For benchmarks in REQUIRED_ACC_BENCHMARK (e.g.
        stable-diffusion-xl, wan-2.2-t2v-a14b), verifies required extra
        artifacts (e.g. images/, videos/) exist in the accuracy directory.

    Attributes:
            submission_logs (SubmissionLogs): Holder for submission log paths
                    and parsed contents (accuracy logs, results, json, loader data).
            mlperf_log: Parsed MLPerf log object used to inspect errors and
                    run metadata.
            accuracy_result (list[str]): Lines from `accuracy.txt` used to
                    extract reported accuracy values.
            accuracy_json (str): Path to the accuracy JSON file.
            config (Config): Configuration helper providing target values and
                    dataset sizes.
    """

    def __init__(
        self, log, path, config: Config, submission_logs: SubmissionLogs
    ):
        """Initialize the accuracy check helper.

        Args:
            log: Logger instance used to report messages.
            path: Path to the submission being checked.
            config (Config): Configuration provider for targets and limits.
            submission_logs (SubmissionLogs): Parsed submission logs and
                artifact paths (accuracy logs, results, json, loader data).
        """
        super().__init__(log, path)
        self.name = "accuracy checks"
        self.submission_logs = submission_logs
        self.mlperf_log = self.submission_logs.accuracy_log
        self.accuracy_result = self.submission_logs.accuracy_result
        self.accuracy_json = self. submission_logs.accuracy_json
        self.config = config
        self.model = self.submission_logs.loader_data.get("benchmark", "")
        self.model_mapping = self.submission_logs.loader_data.get(
            "model_mapping", {})
        self.model = self.config.get_mlperf_model(
            self.model, self.model_mapping)
        self.scenario_fixed = self.submission_logs.loader_data.get(
            "scenario", "")
        self.scenario = self.mlperf_log["effective_scenario"]
        self.division = self.submission_logs.loader_data.get("division", "")
        self.is_endpoints = self.submission_logs.loader_data.get(
            "is_endpoints_submission", False)
        self.setup_checks()

    def setup_checks(self):
        """Register individual accuracy-related checks.

        Adds the per-submission validation callables to `self.checks` in
        the order they should be executed.
        """
        self.checks.append(self.accuracy_result_check)
        self.checks.append(self.accuracy_json_check)
        self.checks.append(self.loadgen_errors_check)
        self.checks.append(self.dataset_check)
        self.checks.append(self.extra_files_check)
        self.checks.append(self.endpoints_model_check)
        self.apply_checks = set(self.checks)
        if self.is_endpoints:
            self.apply_checks.remove(self.accuracy_json_check)
        else:
            self.apply_checks.remove(self.endpoints_model_check)

    def accuracy_result_check(self):
        """Validate reported accuracy metrics in `accuracy.txt`.

        Parses lines from `self.accuracy_result` using configured patterns
        and compares found values against targets and optional upper
        limits. Also ensures a hash value is present and records the
        observed accuracy metrics in `submission_logs.loader_data`.

        Returns:
            bool: True if accuracy checks passed (or division is 'open'),
                False otherwise.
        """

        if self.is_endpoints:
            if self.mlperf_log["accuracy_score"] is None:
                self.log.error("%s accuracy score not found", self.path)
                return False
            score = self.mlperf_log["accuracy_score"]
            self.submission_logs.loader_data["accuracy_metrics"] = score
            if self.division.lower() == "open":
                return True
            if self.model == "qwen3-vl-235b-a22b":
                _, acc_targets, acc_types, *_ = self.config.get_accuracy_values(
                    self.model, self.scenario_fixed
                )
                numeric = self._numeric_accuracy_score(score, acc_types)
                if numeric is None:
                    self.log.error(
                        "%s could not parse accuracy score %s",
                        self.path,
                        score,
                    )
                    return False
                if numeric < acc_targets[0]:
                    self.log.warning(
                        "%s accuracy not met: expected=%f, found=%s",
                        self.path,
                        acc_targets[0],
                        numeric,
                    )
                    return False
            return True

        patterns, acc_targets, acc_types, acc_limits, up_patterns, acc_upper_limit = self.config.get_accuracy_values(
            self.model, self.scenario_fixed
        )
        acc = None
        hash_val = None
        result_acc = {}
        acc_limit_check = True
        all_accuracy_valid = True
        acc_seen = [False for _ in acc_targets]
        for line in self.accuracy_result:
            for i, (pattern, acc_target, acc_type) in enumerate(
                zip(patterns, acc_targets, acc_types)
            ):
                m = re.match(pattern, line)
                if m:
                    acc = m.group(1)
                m = re.match(r"^hash=([\w\d]+)$", line)
                if m:
                    hash_val = m.group(1)
                if acc is not None and float(acc) >= acc_target:
                    all_accuracy_valid &= True
                    acc_seen[i] = True
                elif acc is not None:
                    all_accuracy_valid = False
                    self.log.warning(
                        "%s accuracy not met: expected=%f, found=%s",
                        self.path,
                        acc_target,
                        acc,
                    )
                if acc:
                    result_acc[acc_type] = acc
                acc = None

            if acc_upper_limit is not None:
                for i, (pattern, acc_limit) in enumerate(
                        zip(up_patterns, acc_limits)):
                    m = re.match(pattern, line)
                    if m:
                        acc = m.group(1)
                    m = re.match(r"^hash=([\w\d]+)$", line)
                    if m:
                        hash_val = m.group(1)
                    if (
                        acc is not None
                        and acc_upper_limit is not None
                        and float(acc) > acc_limit
                    ):
                        acc_limit_check = False
                        self.log.warning(
                            "%s accuracy not met: upper limit=%f, found=%s",
                            self.path,
                            acc_limit,
                            acc,
                        )
                    acc = None
            if all(acc_seen) and hash_val:
                break
        is_valid = all_accuracy_valid & all(acc_seen)
        if acc_upper_limit is not None:
            is_valid &= acc_limit_check
        if not hash_val:
            self.log.error("%s not hash value for accuracy.txt", self.path)
            is_valid = False
        self.submission_logs.loader_data["accuracy_metrics"] = result_acc
        if self.division.lower() == "open":
            return True
        return is_valid

    def _numeric_accuracy_score(self, score, acc_types):
        """Extract a comparable numeric accuracy from an endpoints score."""
        if isinstance(score, (int, float)):
            return float(score)
        if isinstance(score, str):
            try:
                return float(score)
            except ValueError:
                return None
        if isinstance(score, dict):
            keys = []
            for acc_type in acc_types:
                keys.extend(
                    [
                        acc_type,
                        acc_type.lower(),
                        acc_type.split("_")[-1].lower(),
                    ]
                )
            keys.extend(["f1", "score", "accuracy"])
            for key in keys:
                value = score.get(key)
                if isinstance(value, (int, float)):
                    return float(value)
                if isinstance(value, str):
                    try:
                        return float(value)
                    except ValueError:
                        continue
        return None

    def accuracy_json_check(self):
        """Check that the accuracy JSON exists and is within size limits.

        Returns:
            bool: True if the JSON file exists and its size does not
                exceed `MAX_ACCURACY_LOG_SIZE`, False otherwise.
        """
        if not os.path.exists(self.accuracy_json):
            self.log.error("%s is missing", self.accuracy_json)
            return False
        else:
            if os.stat(self.accuracy_json).st_size > MAX_ACCURACY_LOG_SIZE:
                self.log.error("%s is not truncated", self.accuracy_json)
                return False
        return True

    def loadgen_errors_check(self):
        """Detect Loadgen errors reported in the MLPerf log.

        If errors are present and not ignored by configuration, logs the
        error messages and returns False to indicate failure.

        Returns:
            bool: True if no blocking Loadgen errors are present,
                False otherwise.
        """
        if self.mlperf_log.has_error():
            if self.config.ignore_uncommited:
                has_other_errors = False
                for error in self.mlperf_log.get_errors():
                    if "Loadgen built with uncommitted changes!" not in error["value"]:
                        has_other_errors = True
            self.log.error("%s contains errors:", self.path)
            for error in self.mlperf_log.get_errors():
                self.log.error("%s", error["value"])

            if not self.config.ignore_uncommited or has_other_errors:
                self.log.error(
                    "%s has loadgen errors, number of errors: %s", self.path, self.mlperf_log.num_errors()
                )
                return False
        return True

    def dataset_check(self):
        """Verify the accuracy run covered the expected dataset size.

        If `skip_dataset_size_check` is enabled in the configuration,
        this check is skipped and returns True. Otherwise compares the
        `qsl_reported_total_count` from the MLPerf log to the expected
        dataset size for the model.

        Returns:
            bool: True if the dataset sizes match or the check is skipped,
                False if the reported count differs from expected.
        """
        if self.config.skip_dataset_size_check:
            self.log.info(
                "%s Skipping dataset size check", self.path
            )
            return True
        expected_qsl_total_count = self.config.get_accuracy_sample_count(
            self.model, self.scenario_fixed)
        if "effective_accuracy_sample_count" in self.mlperf_log.get_keys():
            qsl_total_count = self.mlperf_log["effective_accuracy_sample_count"]
        else:
            qsl_total_count = self.mlperf_log["qsl_reported_total_count"]

        if qsl_total_count != expected_qsl_total_count:
            self.log.error(
                "%s accurcy run does not cover all dataset, accuracy samples: %s, dataset size: %s", self.path, qsl_total_count, expected_qsl_total_count
            )
            return False
        return True

    def extra_files_check(self):
        """Verify required extra accuracy files for certain benchmarks.

        For models in REQUIRED_ACC_BENCHMARK (e.g. stable-diffusion-xl
        images, wan-2.2-t2v-a14b videos), ensures the accuracy directory
        contains the required subdirs and files. Skipped if
        skip_extra_accuracy_files_check is set.

        Returns:
            bool: True if the check is skipped, the model has no extra
                requirements, or all required files exist; False otherwise.
        """
        if self.config.skip_extra_accuracy_files_check:
            return True
        if self.model not in REQUIRED_ACC_BENCHMARK:
            return True
        if self.config.version not in REQUIRED_ACC_BENCHMARK[self.model]:
            return True
        acc_dir = os.path.dirname(self.path)
        target_files = REQUIRED_ACC_BENCHMARK[self.model][self.config.version]
        extra_files_pass, missing_files = check_extra_files(
            acc_dir, target_files)
        if not extra_files_pass:
            self.log.error(
                "%s expected to have the following extra files (%s)",
                acc_dir,
                missing_files,
            )
            return False
        return True

    def endpoints_model_check(self):
        """Verify the model is allowed for endpoints submissions.

        Returns:
            bool: True if the model is in ENDPOINTS_ALLOWED_MODELS,
                False otherwise.
        """
        if self.model not in ENDPOINTS_ALLOWED_MODELS:
            self.log.error(
                "%s endpoints submission uses disallowed model '%s', "
                "must be one of: %s",
                self.path,
                self.model,
                ENDPOINTS_ALLOWED_MODELS,
            )
            return False
        return True
