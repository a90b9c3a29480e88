package io.qspark.kernels.testing;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

/**
 * Counts the parameters of the methods and constructors a module's compiled main classes
 * declare, so a test can hold long argument lists out: shapes, GEMM calls and quantizer settings
 * travel as parameter records ({@code ConvShape}, {@code GemmShape}, ...) rather than as loose
 * integers. Record components count too: a record's canonical constructor is a method like any
 * other. What the compiler generates (lambda bodies, bridges, anonymous classes' constructors)
 * and the generated protobuf classes (packages named {@code proto}) are left out.
 */
public final class ParameterCount {
  /** The most parameters a method or constructor may take. */
  public static final int LIMIT = 8;

  private ParameterCount() {}

  /** Every class compiled into the directory that holds {@code anchor}'s class file (a module's target/classes), protobuf's left out. */
  public static List<Class<?>> mainClasses(Class<?> anchor) throws IOException {
    Path root;
    try {
      root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
    if (!Files.isDirectory(root)) throw new IOException(anchor + " was not loaded from a classes directory: " + root);
    List<Class<?>> classes = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files.sorted()::iterator) {
        String rel = root.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
        if (!rel.endsWith(".class") || rel.endsWith("package-info.class") || rel.endsWith("module-info.class")) continue;
        String name = rel.substring(0, rel.length() - ".class".length()).replace('/', '.');
        if (generated(name)) continue;
        try {
          classes.add(Class.forName(name, false, anchor.getClassLoader()));
        } catch (ClassNotFoundException e) {
          throw new IOException("cannot load " + name, e);
        }
      }
    }
    return classes;
  }

  /** Generated protobuf code: a package named proto. */
  static boolean generated(String className) {
    return className.contains(".proto.");
  }

  /**
   * "Class.method: n parameters" for each declared method or constructor of these classes with
   * more than {@code limit} parameters, in the order of the classes.
   */
  public static List<String> over(int limit, Collection<Class<?>> classes) {
    List<String> r = new ArrayList<>();
    for (Class<?> c : classes) {
      if (c.isAnonymousClass() || c.isSynthetic()) continue;
      List<Executable> declared = new ArrayList<>(List.of(c.getDeclaredConstructors()));
      declared.addAll(List.of(c.getDeclaredMethods()));
      for (Executable e : declared) {
        if (e.isSynthetic() || e instanceof Method m && m.isBridge()) continue;
        if (e.getParameterCount() > limit) {
          String name = e instanceof Constructor<?> ? "<init>" : e.getName();
          r.add(c.getName() + "." + name + ": " + e.getParameterCount() + " parameters");
        }
      }
    }
    return r;
  }
}
