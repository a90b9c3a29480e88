package io.qspark.kernels.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

/** Java serialization as Spark sends a task's buffer: the bytes and the object read back. */
public final class JavaSerialization {
  private JavaSerialization() {}

  public static byte[] bytes(Object o) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(b)) {
      out.writeObject(o);
    }
    return b.toByteArray();
  }

  /** {@code o} written and read back. */
  @SuppressWarnings("unchecked")
  public static <T> T roundTrip(T o) throws IOException, ClassNotFoundException {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes(o)))) {
      return (T) in.readObject();
    }
  }
}
