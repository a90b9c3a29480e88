package io.qspark.job.app;

import io.qspark.job.report.SensitivityReport;

/** What {@link Sensitivity} wrote: the folder, the ranked points (for the console table) and what it cost. */
public record SensitivityResult(String folder, SensitivityReport report, Sensitivity.Cost cost) {}
