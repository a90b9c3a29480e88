/**
 * Whether and how the Java Vector API is used: {@link io.qspark.kernels.simd.VectorApi} (is the
 * incubator module present) and {@link io.qspark.kernels.simd.VectorWidth} (one vector shape per
 * JVM, 256 or 512 bits, chosen so that results never depend on it). Every SIMD kernel reaches the
 * Vector API only through these, so qspark runs on scalar loops without the module.
 */
package io.qspark.kernels.simd;
