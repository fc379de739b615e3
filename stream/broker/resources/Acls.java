// Creates ACLs on the local secured broker: run by `customs-stream broker start --secure`
// with Java's single-file launcher and the broker's own jars on the class path.
// Arguments: an admin client properties file, and a file of ACLs, one per line:
// principal <TAB> resource type <TAB> pattern type <TAB> resource name <TAB> operation
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class Acls {
    public static void main(String[] args) throws Exception {
        Properties properties = new Properties();
        try (var reader = Files.newBufferedReader(Path.of(args[0]))) {
            properties.load(reader);
        }
        List<AclBinding> bindings = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            ResourcePattern resource = new ResourcePattern(
                ResourceType.valueOf(f[1]), f[3], PatternType.valueOf(f[2]));
            AccessControlEntry entry = new AccessControlEntry(
                f[0], "*", AclOperation.valueOf(f[4]), AclPermissionType.ALLOW);
            bindings.add(new AclBinding(resource, entry));
        }
        try (Admin admin = Admin.create(properties)) {
            admin.createAcls(bindings).all().get();
        }
        System.out.println("created " + bindings.size() + " ACLs");
    }
}
