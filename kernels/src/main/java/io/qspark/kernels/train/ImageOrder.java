package io.qspark.kernels.train;

import java.math.BigInteger;

/**
 * The order in which AdaRound's steps and its end-to-end check visit the data's images: position
 * p holds image (p · stride) mod n, a permutation because the stride is coprime to n. A window of
 * consecutive positions is spread over the whole data, so every shard (each a consecutive run of
 * the data) holds about its share of every window and every partition works on every step,
 * where consecutive images would leave all but one partition idle. Which images a window holds
 * depends on n, the stride and the window only, never on the partitioning: results summed
 * exactly over a window stay the same bits for any partitioning.
 *
 * @param images n, the number of images in the data
 * @param stride coprime to n (1: the data's own order)
 * @param inverse stride⁻¹ mod n: image i sits at position (i · inverse) mod n
 */
public record ImageOrder(long images, long stride, long inverse) implements java.io.Serializable {
  public ImageOrder {
    if (images < 1 || images > Integer.MAX_VALUE) throw new IllegalArgumentException("images must be in [1, 2^31): " + images);
    if (stride < 1 || (images > 1 && BigInteger.valueOf(stride).gcd(BigInteger.valueOf(images)).intValue() != 1)) {
      throw new IllegalArgumentException("stride " + stride + " is not coprime to " + images);
    }
  }

  /** The data's own order. */
  public static ImageOrder identity(long images) {
    return new ImageOrder(images, 1, 1);
  }

  /**
   * Windows of {@code perWindow} positions spread over the data: the stride is the smallest
   * integer at least n / perWindow that is coprime to n (1 when a window holds every image).
   */
  public static ImageOrder spread(long images, int perWindow) {
    if (perWindow <= 0 || perWindow >= images) return identity(images);
    BigInteger n = BigInteger.valueOf(images);
    long a = Math.max(1, images / perWindow);
    while (BigInteger.valueOf(a).gcd(n).intValue() != 1) a++;
    return new ImageOrder(images, a, BigInteger.valueOf(a).modInverse(n).longValue());
  }

  /** The position of image i. */
  public long position(long image) {
    return images == 1 ? 0 : Math.floorMod(image * inverse, images); // both < 2^31: no overflow
  }

  /** The image at position p. */
  public long image(long position) {
    return Math.floorMod(position * stride, images);
  }

  /**
   * The local indices, ascending, of the images of the window [from, from + count) of positions
   * (wrapping around; count ≥ n or 0: every image) that a shard holding the data's images
   * [offset, offset + size) holds.
   */
  public int[] select(long offset, int size, long from, long count) {
    int[] r = new int[size];
    int k = 0;
    boolean all = count <= 0 || count >= images;
    for (int i = 0; i < size; i++) {
      if (all || Math.floorMod(position(offset + i) - from, images) < count) r[k++] = i;
    }
    return java.util.Arrays.copyOf(r, k);
  }
}
