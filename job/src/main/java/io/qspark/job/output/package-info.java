/**
 * The folders and files commands write and read back, on any Hadoop file system: atomic
 * folders, QAT checkpoints, and the typed folders that alone know their file names and format
 * versions. Imports {@code data} (paths), {@code report}, {@code model}, {@code preprocess} and
 * {@code base}; never the jobs, the application layer or the command line.
 */
package io.qspark.job.output;
