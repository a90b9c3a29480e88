package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PairedAgreementTest {
  /** McNemar at z = 2: the gain b − c must exceed 2·sqrt(b + c); equal is not enough. */
  @Test
  void keepsOnlyAGainBeyondTwoStandardDeviationsOfTheDiscordantPairs() {
    assertFalse(PairedAgreement.better(0, 0, 2), "no discordant image");
    assertFalse(PairedAgreement.better(4, 0, 2), "4 = 2 sqrt(4)");
    assertTrue(PairedAgreement.better(5, 0, 2), "5 > 2 sqrt(5) = 4.47");
    assertFalse(PairedAgreement.better(12, 4, 2), "8 = 2 sqrt(16)");
    assertTrue(PairedAgreement.better(13, 4, 2), "9 > 2 sqrt(17) = 8.25");
    assertFalse(PairedAgreement.better(4, 12, 2), "a loss");
    // the 8-bit resnet_s case the rule is for: 992 vs 989 agreeing images is a gain of 3
    assertFalse(PairedAgreement.better(3, 0, 2));
    assertFalse(PairedAgreement.better(9, 6, 2));
    // resnet_s_imb with CLE: 990 vs 212
    assertTrue(PairedAgreement.better(780, 2, 2));
  }

  /** Counts from float, baseline and candidate scores; merging parts gives the counts of the whole. */
  @Test
  void countsDiscordantPairsAgainstTheFloatModelAndMergesExactly() {
    // 4 images, 2 classes: float picks 0, 1, 0, 1
    float[] ref = {1, 0, 0, 1, 1, 0, 0, 1};
    float[] base = {1, 0, 1, 0, 0, 1, 0, 1}; // right on 0 and 3
    float[] cand = {1, 0, 0, 1, 1, 0, 1, 0}; // right on 0, 1 and 2
    PairedAgreement whole = new PairedAgreement();
    whole.add(ref, base, cand, 4);
    assertEquals(4, whole.images());
    assertEquals(2, whole.baselineAgreeing());
    assertEquals(3, whole.candidateAgreeing());
    assertEquals(2, whole.candidateOnly());
    assertEquals(1, whole.baselineOnly());
    assertFalse(whole.candidateBetter());

    PairedAgreement a = new PairedAgreement(), b = new PairedAgreement();
    a.add(java.util.Arrays.copyOf(ref, 2), java.util.Arrays.copyOf(base, 2), java.util.Arrays.copyOf(cand, 2), 1);
    b.add(java.util.Arrays.copyOfRange(ref, 2, 8), java.util.Arrays.copyOfRange(base, 2, 8),
        java.util.Arrays.copyOfRange(cand, 2, 8), 3);
    assertEquals(whole.summary(), b.merge(a).summary());
  }
}
