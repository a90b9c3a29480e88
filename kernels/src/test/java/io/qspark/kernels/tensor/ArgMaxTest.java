package io.qspark.kernels.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Expected indices as numpy.argmax gives them: the first maximum. */
class ArgMaxTest {
  @Test
  void firstMaximumWithinTheRow() {
    float[] y = {9, 9, 1, 3, 3, 2, 7, 7};
    assertEquals(0, ArgMax.of(y, 0, 2)); // numpy.argmax([9, 9]) == 0
    assertEquals(1, ArgMax.of(y, 2, 3)); // numpy.argmax([1, 3, 3]) == 1
    assertEquals(1, ArgMax.of(y, 5, 3)); // numpy.argmax([2, 7, 7]) == 1
    assertEquals(0, ArgMax.of(new int[] {-5, -6, -5}, 0, 3));
    assertEquals(2, ArgMax.of(new int[] {0, 0, -1, 4}, 1, 3));
  }

  @Test
  void aNanAfterANumberIsNotChosen() {
    assertEquals(1, ArgMax.of(new float[] {1, 2, Float.NaN}, 0, 3));
  }
}
