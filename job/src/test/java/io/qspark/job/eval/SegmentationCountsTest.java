package io.qspark.job.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SegmentationCountsTest {
  /**
   * Two classes, four pixels, scores [class][pixel] give predictions 1, 0, 0 (a tie: the lower
   * class, as torch.argmax), 1; labels 1, 0, 0, 255. By hand: the last pixel is ignored; class 0
   * labelled and predicted at pixels 1 and 2 (I = U = 2), class 1 at pixel 0 (I = U = 1).
   */
  @Test
  void handCounted() {
    float[] scores = {0, 5, 2, 1, /* class 1 */ 3, 1, 2, 4};
    SegmentationCounts.Builder b = new SegmentationCounts.Builder(2);
    b.add(scores, 0, 4, new int[] {1, 0, 0, 255});
    SegmentationCounts c = b.build();
    assertEquals(3, c.pixels());
    assertEquals(2, c.intersection(0));
    assertEquals(2, c.union(0));
    assertEquals(1, c.intersection(1));
    assertEquals(1, c.union(1));
    assertEquals(1.0, c.miou(), 0);
  }

  /** A class neither labelled nor predicted is left out of the mean; merging in any order gives the same matrix. */
  @Test
  void absentClassesAndMerging() {
    float[] scores = {1, 0, /* class 1 */ 0, 1, /* class 2 */ 0, 0};
    SegmentationCounts.Builder a = new SegmentationCounts.Builder(3), b = new SegmentationCounts.Builder(3);
    a.add(scores, 0, 2, new int[] {0, 0});
    b.add(scores, 0, 2, new int[] {255, 1});
    SegmentationCounts ab = a.build().plus(b.build()), ba = b.build().plus(a.build());
    assertTrue(Double.isNaN(ab.iou(2)));
    // class 0: labelled {a0, a1}, predicted {a0} -> 1/2; class 1: labelled {b1}, predicted {a1, b1} -> 1/2
    assertEquals(0.5, ab.miou(), 0);
    assertEquals(ab.json(), ba.json());
    for (int l = 0; l < 3; l++) for (int p = 0; p < 3; p++) assertEquals(ab.count(l, p), ba.count(l, p));
  }
}
