/**
 * The command line: picocli commands that turn options into settings and print what the
 * application layer returns, exit codes, --conf files. The only package that imports picocli;
 * nothing but the entry point imports it.
 */
package io.qspark.job.cli;
