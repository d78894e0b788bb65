// Round trip of a local tree through Strongroom with JSch (Debian's libjsch-java), the SFTP
// library under many Java MFT clients.
//
// usage: java -cp jsch.jar:. JschRoundTrip PORT USER PASSWORD SRC REMOTE DST
// Uploads every file of SRC (directories first) to REMOTE, renames and removes a scratch file,
// lists REMOTE, downloads everything into DST. Exits non-zero on any error.
import com.jcraft.jsch.*;
import java.io.*;
import java.nio.file.*;
import java.util.*;

public class JschRoundTrip {
    public static void main(String[] a) throws Exception {
        int port = Integer.parseInt(a[0]);
        String user = a[1], password = a[2];
        Path src = Paths.get(a[3]), dst = Paths.get(a[5]);
        String remote = a[4];
        JSch jsch = new JSch();
        Session s = jsch.getSession(user, "127.0.0.1", port);
        s.setPassword(password);
        Properties c = new Properties();
        c.put("StrictHostKeyChecking", "no");
        c.put("PreferredAuthentications", "password");
        s.setConfig(c);
        s.connect(20000);
        ChannelSftp sftp = (ChannelSftp) s.openChannel("sftp");
        sftp.connect(20000);
        sftp.mkdir(remote);
        List<Path> all = new ArrayList<>();
        try (java.util.stream.Stream<Path> w = Files.walk(src)) { w.sorted().forEach(all::add); }
        for (Path p : all) {
            if (p.equals(src)) continue;
            String there = remote + "/" + src.relativize(p).toString();
            if (Files.isDirectory(p)) sftp.mkdir(there);
            else sftp.put(p.toString(), there);
        }
        sftp.put(new ByteArrayInputStream("scratch".getBytes()), remote + "/scratch");
        sftp.rename(remote + "/scratch", remote + "/scratch2");
        sftp.rm(remote + "/scratch2");
        Vector<?> names = sftp.ls(remote);
        if (names.size() < 3) throw new Exception("listing: " + names);
        for (Path p : all) {
            Path here = dst.resolve(src.relativize(p).toString());
            String there = remote + "/" + src.relativize(p).toString();
            if (Files.isDirectory(p)) Files.createDirectories(here);
            else sftp.get(there, here.toString());
        }
        sftp.disconnect();
        s.disconnect();
        System.out.println("ok");
    }
}
