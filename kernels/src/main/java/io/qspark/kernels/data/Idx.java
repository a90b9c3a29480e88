package io.qspark.kernels.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/**
 * The IDX format of MNIST and Fashion-MNIST: a magic number giving the element type and rank,
 * big-endian dimensions, then the data. Only unsigned bytes (0x08), which is what image and
 * label files use. Gzipped files are recognised by their magic bytes, not their name.
 */
public final class Idx {
  /** Dimensions and the raw bytes, row-major. */
  public record Array(int[] dims, byte[] data) {
    public int count() {
      return dims[0];
    }

    /** Elements per item (pixels per image, 1 for labels). */
    public int itemSize() {
      int n = 1;
      for (int i = 1; i < dims.length; i++) n *= dims[i];
      return n;
    }
  }

  private Idx() {}

  /** Reads at most {@code limit} items (all when limit < 0). */
  public static Array read(InputStream raw, String name, int limit) throws IOException {
    BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    InputStream src = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(in, 1 << 16) : in;
    DataInputStream d = new DataInputStream(src);
    int magic;
    try {
      magic = d.readInt();
    } catch (EOFException e) {
      throw new IOException(name + " is empty or not an IDX file");
    }
    if ((magic >>> 16) != 0 || ((magic >>> 8) & 0xff) != 0x08) {
      throw new IOException(name + " is not an unsigned-byte IDX file (magic 0x"
          + Integer.toHexString(magic) + ")");
    }
    int rank = magic & 0xff;
    if (rank < 1 || rank > 4) throw new IOException(name + ": IDX rank " + rank + " not supported");
    int[] dims = new int[rank];
    long per = 1;
    for (int i = 0; i < rank; i++) {
      dims[i] = d.readInt();
      if (dims[i] < 0) throw new IOException(name + ": negative IDX dimension");
      if (i > 0) per *= dims[i];
    }
    int n = limit >= 0 ? Math.min(limit, dims[0]) : dims[0];
    long bytes = per * n;
    if (bytes > Integer.MAX_VALUE) throw new IOException(name + ": too large to read at once");
    byte[] data = new byte[(int) bytes];
    try {
      d.readFully(data);
    } catch (EOFException e) {
      throw new IOException(name + " is truncated: header promises " + dims[0] + " items");
    }
    // a gzip stream checks its CRC only at the trailer: read on to it when the file was read whole,
    // or a corrupted file can decode into wrong pixels without a word
    if (n == dims[0] && src != in) {
      try {
        src.read();
      } catch (java.util.zip.ZipException e) {
        throw new IOException(name + " is corrupt: " + e.getMessage());
      }
    }
    dims[0] = n;
    return new Array(dims, data);
  }
}
