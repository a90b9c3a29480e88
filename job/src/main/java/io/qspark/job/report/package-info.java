/**
 * What runs report to people: report.json contents, the report page, console tables, training
 * curves, inspect's listing. Renders values it is given; imports {@code eval}, {@code base} and the
 * kernels, never outputs, jobs, the application layer or the command line.
 */
package io.qspark.job.report;
