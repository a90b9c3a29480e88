package io.qspark.kernels.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector width the SIMD kernels compute with: 512 bits where the CPU has them (AVX-512),
 * else 256. {@code -Dqspark.simd.bits=256} or {@code =512} forces one (read once, when the first
 * kernel class loads); a width the CPU lacks still computes the same values, slowly, as the
 * Vector API emulates it.
 *
 * <p>Results never depend on the width: every kernel keeps each output in one lane from start to
 * end (a convolution output's FMA chain, an elementwise result), so a wider vector only computes
 * more outputs at once; sums across positions (BatchNorm statistics, weight gradients) run on
 * {@link #SUM_LANES} logical lanes, one 512-bit vector or two 256-bit ones, each summing the
 * positions congruent to it modulo {@link #SUM_LANES} in order. {@code VectorWidthTest} runs the
 * kernels in JVMs held to AVX2 and at both widths and compares them bit for bit.
 *
 * <p>Every vector in qspark has this one shape. On JDK 17, FloatVector.intoArray reaches its
 * vector's species through a profiled virtual call; once vectors of two shapes have been stored,
 * C2 no longer sees a constant species there and every store falls back to Java code (measured:
 * the 3x3 convs ran 10-20x slower with 512-bit kernels beside 256-bit copies). Only classes that
 * use the Vector API touch this one (see {@link VectorApi}).
 */
public final class VectorWidth {
  /** Lanes of 32 bits the kernels use: 8 (256-bit vectors) or 16 (512-bit). */
  public static final VectorSpecies<Float> FLOATS = choose(System.getProperty("qspark.simd.bits", "auto"));
  /** Int lanes of the same shape (bit manipulation of floats). */
  public static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
  /**
   * Logical lanes of the sums across positions: the widest vector's float lanes, so that every
   * width computes the same partial sums (a 256-bit vector covers half of them per step).
   */
  public static final int SUM_LANES = 16;

  private VectorWidth() {}

  static VectorSpecies<Float> choose(String bits) {
    switch (bits) {
      case "256": return FloatVector.SPECIES_256;
      case "512": return FloatVector.SPECIES_512;
      case "auto": case "":
        // the widest the CPU runs natively, within 256..512 bits (narrower CPUs keep the
        // 256-bit code they always ran)
        return FloatVector.SPECIES_PREFERRED.vectorShape() == VectorShape.S_512_BIT
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
      default:
        throw new IllegalArgumentException("qspark.simd.bits must be 256, 512 or auto, got '" + bits + "'");
    }
  }

  /** Bits per vector, for reports. */
  public static int bits() {
    return FLOATS.vectorBitSize();
  }
}
