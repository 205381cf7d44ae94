/// The version recorded in converted files.
public enum HasskitBuild {
    public static let version = "0.1.0"
}
