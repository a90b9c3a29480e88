package io.qspark.job.data;

import java.io.Serializable;

/**
 * One image as stored (unsigned bytes, see {@link ImageLayout}) with its class; {@code index} is
 * its position in the data set, so errors can name it.
 */
public record LabeledImage(long index, byte[] pixels, int label) implements Serializable {}
