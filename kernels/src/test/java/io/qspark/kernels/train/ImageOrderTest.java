package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageOrderTest {
  @Test
  void strideIsTheFirstCoprimeFromImagesOverWindow() {
    // 1000 / 64 = 15; gcd(15, 1000) = 5, gcd(16, 1000) = 8, gcd(17, 1000) = 1; 17 * 353 = 6001 = 6 * 1000 + 1
    ImageOrder o = ImageOrder.spread(1000, 64);
    assertEquals(17, o.stride());
    assertEquals(353, o.inverse());
    assertEquals(ImageOrder.identity(1000), ImageOrder.spread(1000, 0));
    assertEquals(ImageOrder.identity(50), ImageOrder.spread(50, 64));
    assertThrows(IllegalArgumentException.class, () -> new ImageOrder(1000, 16, 1));
  }

  @Test
  void isAPermutationAndPositionInvertsImage() {
    for (long n : new long[] {1, 7, 1000, 1001}) {
      ImageOrder o = ImageOrder.spread(n, 64);
      BitSet seen = new BitSet();
      for (long p = 0; p < n; p++) {
        long i = o.image(p);
        assertTrue(i >= 0 && i < n);
        assertEquals(p, o.position(i));
        seen.set((int) i);
      }
      assertEquals(n, seen.cardinality());
    }
  }

  @Test
  void shardsTogetherHoldEachWindowOnceWhateverTheSplit() {
    ImageOrder o = ImageOrder.spread(1000, 64);
    long from = 960; // wraps: positions 960..999 and 0..23
    List<Long> expected = new ArrayList<>();
    for (long p = from; p < from + 64; p++) expected.add(o.image(p % 1000));
    expected.sort(null);
    for (int[] split : new int[][] {{1000}, {500, 500}, {333, 333, 334}, {1, 998, 1}}) {
      List<Long> got = new ArrayList<>();
      long offset = 0;
      for (int size : split) {
        for (int i : o.select(offset, size, from, 64)) got.add(offset + i);
        offset += size;
      }
      got.sort(null);
      assertEquals(expected, got);
    }
  }

  @Test
  void windowsSpreadOverTwoHalves() {
    // the reason for the order: with consecutive windows one half would hold all 64 images
    ImageOrder o = ImageOrder.spread(1000, 64);
    for (long w = 0; w < 1000; w += 64) {
      int first = o.select(0, 500, w, 64).length, second = o.select(500, 500, w, 64).length;
      assertEquals(64, first + second);
      assertTrue(Math.abs(first - second) <= 8, first + " vs " + second);
    }
  }

  @Test
  void selectGivesLocalIndicesAscendingAndAllForZeroCount() {
    ImageOrder o = ImageOrder.identity(10);
    assertArrayEquals(new int[] {1, 2}, o.select(3, 4, 4, 2));
    assertArrayEquals(new int[] {0, 1, 2, 3}, o.select(3, 4, 0, 0));
    assertArrayEquals(new int[] {1}, o.select(8, 2, 9, 3)); // positions 9, 0, 1: of images 8 and 9, only 9
  }
}
